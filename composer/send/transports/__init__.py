"""Transports: where a batch of prepared recipients goes (SendGrid, SMTP, a folder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.send.transports.base import Transport
    from composer.workspace import Workspace

NAMES = ("sendgrid", "smtp", "outbox")


def make_transport(name: str, workspace: Workspace) -> Transport:
    """The named transport, configured from the workspace and the environment."""
    if name == "sendgrid":
        from composer.send.transports.sendgrid import SendGridTransport

        return SendGridTransport.from_workspace(workspace)
    if name == "smtp":
        from composer.send.transports.smtp import SmtpTransport

        return SmtpTransport.from_workspace(workspace)
    if name == "outbox":
        from composer.send.transports.outbox import OutboxTransport

        return OutboxTransport(workspace.outbox_dir)
    raise ConfigError(f"unknown transport '{name}' (known: {', '.join(NAMES)})")
