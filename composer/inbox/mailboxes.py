"""The mailboxes `bulletin inbox` reads: a Maildir, an mbox file, or an IMAP folder.

Each yields (key, raw bytes) and takes back the keys of handled messages: a Maildir moves
them to its `processed` folder (`.processed`, Maildir++, as Dovecot and Courier name
it), an IMAP mailbox moves them to its `processed` folder (created if missing) and marks
them read, and an mbox leaves them where they are (the report lists them, and the store
remembers them, so a second run does nothing twice). Messages left alone stay as they
were: an IMAP message is fetched with BODY.PEEK, so it stays unread.
"""

from __future__ import annotations

import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from composer.errors import ConfigError, InputError

PROCESSED = "processed"


class Mailbox(Protocol):
    description: str

    def messages(self) -> Iterator[tuple[str, bytes]]: ...

    def processed(self, keys: Sequence[str]) -> None: ...

    def close(self) -> None: ...


def open_mailbox(where: str, *, env: dict[str, str], password_env: str, base: Path) -> Mailbox:
    """The mailbox `where` names: imaps://user@host[:port]/FOLDER, a Maildir, or an mbox."""
    if "://" in where:
        return ImapMailbox.from_url(where, env=env, password_env=password_env)
    path = (base / where).resolve()
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise InputError(f"{path}: a folder, but not a Maildir (it needs cur/, new/ and tmp/)")
        return MaildirMailbox(path)
    if path.is_file():
        return MboxMailbox(path)
    raise InputError(f"{where}: no such Maildir or mbox file")


class MaildirMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"Maildir {path}"
        self.target = path / f".{PROCESSED}"

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for sub in ("new", "cur"):
            folder = self.path / sub
            for path in sorted(folder.iterdir()):
                if path.name.startswith("."):
                    continue
                try:
                    yield f"{sub}/{path.name}", path.read_bytes()
                except FileNotFoundError:  # another reader moved it meanwhile
                    continue

    def processed(self, keys: Sequence[str]) -> None:
        for sub in ("cur", "new", "tmp"):
            (self.target / sub).mkdir(parents=True, exist_ok=True)
        (self.target / "maildirfolder").touch()
        for key in keys:
            sub, _, name = key.partition("/")
            base, _, flags = name.partition(":2,")
            seen = "".join(sorted(set(flags) | {"S"}))  # handled: read (Maildir info, flag S)
            try:
                (self.path / sub / name).rename(self.target / "cur" / f"{base}:2,{seen}")
            except FileNotFoundError:
                continue

    def close(self) -> None:
        pass


class MboxMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"mbox {path} (read only: handled messages are reported, not moved)"

    def messages(self) -> Iterator[tuple[str, bytes]]:
        box = mailbox.mbox(self.path, create=False)
        try:
            for key in box.iterkeys():
                yield str(key), box.get_bytes(key)
        finally:
            box.close()

    def processed(self, keys: Sequence[str]) -> None:
        pass

    def close(self) -> None:
        pass


_UID = re.compile(rb"UID (\d+)")


class ImapMailbox:
    """An IMAP folder over TLS (imaps://, port 993 unless given)."""

    def __init__(self, host: str, port: int, user: str, password: str, folder: str) -> None:
        self.description = f"IMAP {user}@{host}:{port}/{folder}"
        self.folder = folder
        try:
            self.conn = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=60)
            self.conn.login(user, password)
        except imaplib.IMAP4.error as exc:
            raise ConfigError(f"{self.description}: the server refused the login ({_said(exc)})") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{self.description}: cannot connect ({exc.__class__.__name__}: {exc})") from None
        # The capabilities after login (MOVE, UIDPLUS) are not the greeting's.
        status, data = self.conn.capability()
        self.capabilities = set(data[0].upper().split()) if status == "OK" and data and data[0] else set()
        status, _ = self.conn.select(_quoted(folder))
        if status != "OK":
            raise InputError(f"{self.description}: no such folder")

    @classmethod
    def from_url(cls, url: str, *, env: dict[str, str], password_env: str) -> ImapMailbox:
        parts = urlsplit(url)
        if parts.scheme != "imaps" or not parts.hostname or not parts.username:
            raise ConfigError("an IMAP inbox must look like imaps://user@host/INBOX (TLS only)")
        password = env.get(password_env)
        if not password:
            raise ConfigError(f"the IMAP password goes in the environment variable {password_env}, which is not set")
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(parts.hostname, parts.port or 993, unquote(parts.username), password, folder)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        status, data = self.conn.uid("SEARCH", "UNDELETED")
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for start in range(0, len(uids), 200):
            chunk = b",".join(uids[start : start + 200]).decode()
            status, fetched = self.conn.uid("FETCH", chunk, "(UID BODY.PEEK[])")
            for item in fetched:
                if isinstance(item, tuple):
                    uid = _UID.search(item[0])
                    if uid is not None:
                        yield uid.group(1).decode(), item[1]

    def processed(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        self.conn.create(PROCESSED)  # "already exists" is an answer too
        uids = ",".join(keys)
        self.conn.uid("STORE", uids, "+FLAGS.SILENT", r"(\Seen)")
        if b"MOVE" in self.capabilities:
            self.conn.uid("MOVE", uids, PROCESSED)
            return
        status, _ = self.conn.uid("COPY", uids, PROCESSED)
        if status != "OK":
            raise InputError(f"{self.description}: could not copy handled messages to {PROCESSED}")
        self.conn.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
        self.conn.expunge()

    def close(self) -> None:
        try:
            self.conn.close()
            self.conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
