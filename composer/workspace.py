"""The workspace: a folder with a `bulletin.toml` that names the sender and the folders.

The repository root is itself a workspace. Everything a command needs to know about where
things live and who is sending comes from here, so the library never guesses paths.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from composer.errors import ConfigError
from composer.safetext import describe_control, first_control
from composer.send.transports import TRANSPORTS

CONFIG_NAME = "bulletin.toml"
ENV_WORKSPACE = "BULLETIN_WORKSPACE"
ENV_DATABASE_URL = "BULLETIN_DATABASE_URL"
ENV_SECRET_KEY = "BULLETIN_SECRET_KEY"  # noqa: S105 - the variable's name, not a key
ENV_OLD_SECRET_KEYS = "BULLETIN_OLD_SECRET_KEYS"  # noqa: S105 - likewise

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SenderSettings(_Strict):
    name: str = Field(description="Display name of the list, e.g. 'GPC England bulletin'")
    from_name: str
    from_email: str
    reply_to: str | None = None
    postal_address: str
    base_url: str = Field(description="Public https base URL for unsubscribe and view-online links")
    unsubscribe_mailto: str = Field(description="Address for the mailto: List-Unsubscribe URI")
    list_id: str | None = None
    timezone: str = "Europe/London"
    language: str = "en-GB"

    @field_validator("name", "from_name", "from_email", "reply_to", "unsubscribe_mailto", "list_id")
    @classmethod
    def _one_header_line(cls, value: str | None) -> str | None:
        char = first_control(value or "", allow_tab=True)
        if char is not None:
            raise ValueError(f"holds the control character {describe_control(char)}, which would break the email header")
        return value

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (links in the email point here)")
        return value.rstrip("/")


class FolderSettings(_Strict):
    sections: str = "sections"
    layouts: str = "layouts"
    lists: str = "lists"
    bulletins: str = "bulletins"
    out: str = "out"
    outbox: str = "outbox"
    state: str = ".bulletin"


class SendSettings(_Strict):
    transport: str = Field(default="outbox", description="A name in composer.send.transports.TRANSPORTS")
    batch_size: int = Field(default=1000, ge=1, le=1000)
    rate: float = Field(default=0, ge=0, description="Messages per second; 0 means no cap")
    unknown_grace_minutes: float = Field(
        default=15, ge=0,
        description="--retry-unknown resends an unknown row only this long after its batch, "
        "so that SendGrid's events (which settle it) have time to arrive",
    )
    approvals_required: int = Field(
        default=0, ge=0, le=10,
        description="How many people other than the sender must approve the exact content before a send",
    )
    quiet_hours: str | None = Field(
        default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="'20:00-07:00' (UK time): a scheduled send in these hours gets a warning",
    )

    @field_validator("transport")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in TRANSPORTS:
            raise ValueError(f"unknown transport '{value}' (known: {', '.join(TRANSPORTS)})")
        return value


class TrackingSettings(_Strict):
    """What the ESP may track. Off by default: a bulletin about protecting patient data
    does not follow its readers. Sent on every request, so the account's defaults never
    decide (SendGrid would otherwise rewrite every link and add a pixel)."""

    opens: bool = Field(default=False, description="Let SendGrid add an open-tracking pixel")
    clicks: bool = Field(default=False, description="Let SendGrid rewrite links through its click-tracking domain")
    per_person: bool = Field(
        default=False,
        description="Keep who opened and clicked. Off: opens and clicks are counted per campaign, "
        "copy and link, and their address, contact and detail are dropped when they arrive",
    )


class RetentionSettings(_Strict):
    """How long events and deliveries keep their personal fields (`bulletin lists prune`)."""

    events_days: int = Field(
        default=400, ge=1,
        description="After this many days the address and detail of events and deliveries are cleared",
    )


class DkimSettings(_Strict):
    """`[dkim]`: sign SMTP and outbox messages (composer.send.dkim). The key stays in its file."""

    domain: str = Field(description="The d= domain, aligned with From for DMARC")
    selector: str = Field(description="The s= selector: the key's TXT record is SELECTOR._domainkey.DOMAIN")
    private_key_file: str = Field(description="PEM RSA private key, relative to the workspace")

    @field_validator("private_key_file")
    @classmethod
    def _a_path(cls, value: str) -> str:
        if "-----BEGIN" in value or "\n" in value:
            raise ValueError("must be the path of the key file, never the key itself")
        return value


class InboxSettings(_Strict):
    """`[inbox]`: the bounce and mailto-unsubscribe mailbox `bulletin inbox` reads."""

    url: str | None = Field(default=None, description="Maildir or mbox path, or imaps://user@host/INBOX")
    every: str = Field(default="5m", description="How often `bulletin serve` reads it, e.g. 5m, 1h")
    password_env: str = Field(default="BULLETIN_INBOX_PASSWORD", description="Environment variable with the IMAP password")
    temporary_limit: int = Field(default=3, ge=1, description="Temporary failures (in different campaigns) that suppress")

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str) -> str:
        _seconds(value)
        return value

    @property
    def every_seconds(self) -> float:
        return _seconds(self.every)


_UNITS = {"s": 1, "m": 60, "h": 3600}


def _seconds(value: str) -> float:
    """'30s', '5m', '1h' (or a number of seconds) → seconds, at least 10."""
    text = value.strip().lower()
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError("must look like 30s, 5m or 1h") from None
    if seconds < 10:
        raise ValueError("must be at least 10s")
    return seconds


class WorkspaceConfig(_Strict):
    bulletin: SenderSettings
    folders: FolderSettings = Field(default_factory=FolderSettings)
    send: SendSettings = Field(default_factory=SendSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    dkim: DkimSettings | None = None
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: its root folder and its validated configuration."""

    root: Path
    config: WorkspaceConfig
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ), compare=False)
    #: Each transport's validated `[name]` table, for those bulletin.toml has.
    transports: dict[str, BaseModel] = field(default_factory=dict)

    def transport_settings(self, name: str, model: type[M]) -> M | None:
        """The `[name]` table of a transport as `model`, or None when bulletin.toml has none."""
        found = self.transports.get(name)
        if found is not None and not isinstance(found, model):
            raise TypeError(f"[{name}] is a {type(found).__name__}, not a {model.__name__}")
        return found

    @property
    def sender(self) -> SenderSettings:
        return self.config.bulletin

    def folder(self, name: str) -> Path:
        return (self.root / getattr(self.config.folders, name)).resolve()

    @property
    def sections_dir(self) -> Path:
        return self.folder("sections")

    @property
    def layouts_dir(self) -> Path:
        return self.folder("layouts")

    @property
    def lists_dir(self) -> Path:
        return self.folder("lists")

    @property
    def bulletins_dir(self) -> Path:
        return self.folder("bulletins")

    @property
    def out_dir(self) -> Path:
        return self.folder("out")

    @property
    def outbox_dir(self) -> Path:
        return self.folder("outbox")

    @property
    def state_dir(self) -> Path:
        return self.folder("state")

    @property
    def segments_file(self) -> Path:
        return self.lists_dir / "segments.yaml"

    def database_url(self) -> str:
        """BULLETIN_DATABASE_URL, or SQLite at `.bulletin/bulletin.db` in the workspace."""
        url = self.env.get(ENV_DATABASE_URL)
        if url:
            return url
        return f"sqlite:///{self.state_dir / 'bulletin.db'}"

    def secret_keys(self) -> list[str]:
        """Signing keys, newest first: BULLETIN_SECRET_KEY then BULLETIN_OLD_SECRET_KEYS.

        Without the variable, a random key is made once in `.bulletin/secret_key`
        (mode 0600) so that a fresh workspace works; production sets the variable.
        """
        current = self.env.get(ENV_SECRET_KEY)
        if not current:
            current = self._local_secret()
        old = [k.strip() for k in self.env.get(ENV_OLD_SECRET_KEYS, "").split(",") if k.strip()]
        return [current, *old]

    def _local_secret(self) -> str:
        path = self.state_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # first writer wins if two processes race
        tmp.unlink(missing_ok=True)
        return path.read_text(encoding="utf-8").strip()


def find_root(start: Path | None = None) -> Path:
    """The workspace root: $BULLETIN_WORKSPACE, else the nearest folder with bulletin.toml."""
    env_root = os.environ.get(ENV_WORKSPACE)
    if env_root:
        return Path(env_root).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found in {here} or any folder above it; run bulletin from a "
        f"workspace, pass --workspace, or set {ENV_WORKSPACE}"
    )


def load_workspace(root: Path | None = None, env: dict[str, str] | None = None) -> Workspace:
    """Read and validate `bulletin.toml` at `root` (found from the cwd when None)."""
    root = (root or find_root()).resolve()
    path = root / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; a workspace needs a {CONFIG_NAME}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    transports: dict[str, BaseModel] = {}
    try:
        for name, entry in TRANSPORTS.items():
            if entry.settings is not None and name in raw:
                table = raw.pop(name)
                try:
                    transports[name] = entry.settings.model_validate(table)
                except ValidationError as exc:
                    raise _setting_error(path, exc, name) from None
        config = WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        raise _setting_error(path, exc) from None
    return Workspace(
        root=root, config=config, env=dict(os.environ) if env is None else env, transports=transports
    )


def _setting_error(path: Path, exc: ValidationError, *within: str) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join([*within, *(str(p) for p in first["loc"])])
    return ConfigError(f"{path}: setting '{key}': {first['msg']}")
