"""Transports: where a batch of prepared recipients goes (SendGrid, SMTP, a folder).

`TRANSPORTS` is the one place a transport is registered: its name (for `--transport` and
`[send] transport`), its class (imported only when the transport is made, so loading a
workspace stays cheap) and the model of its `[name]` table in bulletin.toml, if it takes
one. A new transport is its module, with a `from_workspace` class method, plus one line
in the table (and its settings model below, if it has settings).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.send.transports.base import Transport
    from composer.workspace import Workspace


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendGridSettings(_Strict):
    """`[sendgrid]`: the key and API host come from the environment, never from here."""

    asm_group_id: int | None = None
    sandbox_mode: bool = False
    timeout: float = Field(default=30, gt=0)
    max_retries: int = Field(default=5, ge=0)


class SmtpSettings(_Strict):
    """`[smtp]`, used when BULLETIN_SMTP_URL is not set (per_domain_rate applies to both)."""

    host: str = "127.0.0.1"
    port: int = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="Name of the environment variable that holds the password"
    )
    timeout: float = Field(default=30, gt=0)
    per_domain_rate: dict[str, float] = Field(default_factory=dict)
    connections: int = Field(default=1, ge=1, le=32, description="Connections in parallel, one per sending thread")
    bounce_domain: str | None = Field(
        default=None, description="VERP: each message's envelope sender is bounces+TOKEN@bounce_domain"
    )


@dataclass(frozen=True)
class Registered:
    """One transport: `target` is "module:Class"; `settings` the model of its table."""

    target: str
    settings: type[BaseModel] | None = None

    def load(self) -> type[Transport]:
        module, _, name = self.target.partition(":")
        found: type[Transport] = getattr(importlib.import_module(module), name)
        return found


TRANSPORTS: dict[str, Registered] = {
    "sendgrid": Registered("composer.send.transports.sendgrid:SendGridTransport", SendGridSettings),
    "smtp": Registered("composer.send.transports.smtp:SmtpTransport", SmtpSettings),
    "outbox": Registered("composer.send.transports.outbox:OutboxTransport"),
}
NAMES = tuple(TRANSPORTS)


def check_name(name: str) -> str:
    """The name if a transport is registered under it, else a ConfigError naming the known."""
    if name not in TRANSPORTS:
        raise ConfigError(f"unknown transport '{name}' (known: {', '.join(NAMES)})")
    return name


def make_transport(name: str, workspace: Workspace) -> Transport:
    """The named transport, configured from the workspace and the environment."""
    return TRANSPORTS[check_name(name)].load().from_workspace(workspace)
