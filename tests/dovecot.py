"""A private Dovecot IMAP server on loopback (imaps only) for the `bulletin inbox` IMAP
test: its own config, run and state directories under a temporary folder, one user with
a password from a passwd-file, mail in a Maildir. Needs root and Debian's dovecot-imapd
(`.ci/run` installs it); `unavailable()` says why not, for a skip."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_USER = "nobody"  # owns the test Maildir (Dovecot refuses root and system uids below first_valid_uid)

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    user = root
  }}
  unix_listener stats-writer {{
    user = root
  }}
}}
"""


def unavailable() -> str | None:
    if not Path(DOVECOT).exists():
        return "Dovecot is not installed (.ci/run installs Debian's dovecot-imapd)"
    if os.geteuid() != 0:
        return "a private Dovecot instance needs root"
    return None


@dataclass
class Dovecot:
    root: Path
    port: int
    user: str
    password: str

    def maildir(self) -> Path:
        """The user's Maildir (INBOX; other folders are `.NAME` inside it)."""
        return self.root / "mail" / self.user

    @property
    def url(self) -> str:
        return f"imaps://{self.user}@localhost:{self.port}/INBOX"


@contextmanager
def dovecot(port: int, cert: Path, key: str | Path, *, user: str = "bounces", password: str = "test-password") -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="bulletin-dovecot-"))
    root.chmod(0o755)
    owner = shutil.chown
    try:
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir()
        maildir = root / "mail" / user
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        import pwd

        account = pwd.getpwnam(MAIL_USER)
        for path in [root / "mail", maildir, *(maildir / s for s in ("cur", "new", "tmp"))]:
            owner(path, account.pw_uid, account.pw_gid)
        (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n", encoding="utf-8")
        conf = root / "dovecot.conf"
        conf.write_text(CONF.format(root=root, cert=cert, key=key, port=port, uid=account.pw_uid, gid=account.pw_gid),
                        encoding="utf-8")  # fmt: skip
        # The daemon keeps inherited pipes open, so its output goes to a file, not a pipe.
        with (root / "start.log").open("wb") as out:
            started = subprocess.run([DOVECOT, "-c", str(conf)], stdout=out, stderr=out, check=False, timeout=30)
        if started.returncode != 0:
            raise RuntimeError(f"dovecot would not start: {(root / 'start.log').read_text()}{_log(root)}")
        try:
            _wait(port, cert)
            yield Dovecot(root, port, user, password)
        finally:
            subprocess.run([DOVECOT, "-c", str(conf), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False, timeout=30)  # fmt: skip
            _wait_stopped(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _log(root: Path) -> str:
    path = root / "dovecot.log"
    return path.read_text(encoding="utf-8", errors="replace")[-2000:] if path.exists() else ""


def _wait(port: int, cert: Path, timeout: float = 30) -> None:
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as conn,
            ):
                if conn.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Dovecot did not answer on port {port}")


def _wait_stopped(root: Path, timeout: float = 15) -> None:
    pid_file = root / "run" / "master.pid"
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (ProcessLookupError, ValueError):
            return
        time.sleep(0.1)
