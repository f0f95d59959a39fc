"""A private Postfix on loopback for the integration test and the bench (not a mock).

Its own config directory (`postfix -c DIR`), queue and data directories under a
temporary folder, one smtpd on a spare loopback port, `default_transport = discard`, only
reserved domains accepted as recipients, no rate limits, no chroot. Needs root (Postfix's
master starts as root and drops to `mail_owner`) and Debian's postfix package, which
`.ci/run` installs; `unavailable()` says why not, for a skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.bulletin.example
mydomain = bulletin.example
myorigin = bulletin.example
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard:bulletin test
relay_transport = discard:bulletin test
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access regexp:{root}/etc/reserved, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
default_process_limit = 100
smtpd_banner = $myhostname ESMTP bulletin test
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
biff = no
"""

# With `mailboxes`: the bounce and unsubscribe addresses are delivered into the Maildir
# `mail/inbox/`, a copy of everything into `mail/archive/` (to read what was sent), and
# one domain fails every message: it is relayed to a second smtpd of the same Postfix
# that refuses it with 550 5.1.1, so that Postfix's own bounce daemon writes the DSN.
MAILBOXES_CF = """\
virtual_mailbox_domains = bounces.bulletin.example, bulletin.example
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = regexp:{root}/etc/mailboxes
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
transport_maps = regexp:{root}/etc/transport
always_bcc = archive@bulletin.example
"""
MAILBOXES = """\
/^bounces(\\+.*)?@bounces\\.bulletin\\.example$/ inbox/
/^unsubscribe@bulletin\\.example$/ inbox/
/^archive@bulletin\\.example$/ archive/
"""
TRANSPORT = """\
/@dead\\.example\\.org$/ smtp:[127.0.0.1]:{refuse_port}
"""
REFUSE = """\
/@dead\\.example\\.org$/ 550 5.1.1 mailbox does not exist
"""
REFUSING_SMTPD = (
    "127.0.0.1:{refuse_port} inet n - n - - smtpd -o myhostname=mx.dead.example.org "
    "-o smtpd_relay_restrictions= -o smtpd_recipient_restrictions=check_recipient_access,regexp:{root}/etc/refuse,reject\n"
    "smtp      unix  -       -       n       -       -       smtp\n"
)

# Only reserved domains (RFC 2606 and .example): anything else is refused at RCPT.
RESERVED = """\
/@example\\.(org|com|net)$/ OK
/@([a-z0-9-]+\\.)*example$/ OK
/@([a-z0-9-]+\\.)+example\\.(org|com|net)$/ OK
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
virtual   unix  -       n       n       -       -       virtual
"""


def unavailable() -> str | None:
    """Why a private Postfix cannot run here, or None if it can."""
    if not Path(POSTFIX).exists():
        return "Postfix is not installed (.ci/run installs Debian's postfix package)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its master starts as root)"
    return None


@dataclass
class Postfix:
    root: Path
    port: int

    @property
    def config(self) -> Path:
        return self.root / "etc"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def queue(self) -> str:
        """`postqueue -p`: what is still queued ('Mail queue is empty' when nothing is)."""
        out = subprocess.run([POSTQUEUE, "-c", str(self.config), "-p"], capture_output=True, text=True, check=False)
        return (out.stdout + out.stderr).strip()

    def mailbox(self, name: str) -> Path:
        """A Maildir the `mailboxes` instance delivers into (`inbox` or `archive`)."""
        return self.root / "mail" / name

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def wait_for_empty_queue(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.queue()
            if "empty" in text or time.monotonic() > deadline:
                return text
            time.sleep(0.2)


def _postfix(config: Path, *args: str) -> None:
    subprocess.run([POSTFIX, "-c", str(config), *args], check=True, capture_output=True, text=True)


@contextmanager
def postfix(port: int, *, mailboxes: bool = False) -> Iterator[Postfix]:
    """A private Postfix on 127.0.0.1:`port`, stopped (its processes gone, its folder
    removed) after. Its folder is its own, directly under the temporary directory: the
    postfix user must be able to walk into it, which pytest's 0700 folders forbid."""
    root = Path(tempfile.mkdtemp(prefix="bulletin-postfix-"))
    try:
        with _running(root, port, mailboxes) as instance:
            yield instance
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _running(root: Path, port: int, mailboxes: bool) -> Iterator[Postfix]:
    instance = Postfix(root, port)
    etc = instance.config
    etc.mkdir(parents=True)
    (root / "data").mkdir()
    (root / "queue").mkdir()
    main = MAIN_CF.format(root=root)
    master = MASTER_CF.format(port=port)
    if mailboxes:
        owner = pwd.getpwnam("postfix")
        main += MAILBOXES_CF.format(root=root, uid=owner.pw_uid, gid=owner.pw_gid)
        (etc / "mailboxes").write_text(MAILBOXES, encoding="utf-8")
        refuse_port = _spare_port()
        (etc / "transport").write_text(TRANSPORT.format(refuse_port=refuse_port), encoding="utf-8")
        (etc / "refuse").write_text(REFUSE, encoding="utf-8")
        master += REFUSING_SMTPD.format(refuse_port=refuse_port, root=root)
        (root / "mail").mkdir()
        shutil.chown(root / "mail", "postfix", owner.pw_gid)
    (etc / "main.cf").write_text(main, encoding="utf-8")
    (etc / "master.cf").write_text(master, encoding="utf-8")
    (etc / "reserved").write_text(RESERVED, encoding="utf-8")
    root.chmod(0o755)  # the postfix user walks into the queue
    shutil.chown(root / "data", "postfix")
    try:
        _postfix(etc, "check")
        _postfix(etc, "start")
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"postfix -c {etc} would not start: {exc.stderr or exc.stdout}{instance.log()[-2000:]}") from None
    try:
        _wait_for_port(port)
        yield instance
    finally:
        subprocess.run([POSTFIX, "-c", str(etc), "stop"], capture_output=True, check=False)
        _wait_for_stop(root)


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Postfix did not answer on port {port}")


def _wait_for_stop(root: Path, timeout: float = 15) -> None:
    pid_file = root / "queue" / "pid" / "master.pid"
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (ProcessLookupError, ValueError):
            return
        time.sleep(0.1)
