"""Sending a composed bulletin: campaigns, the per-recipient ledger, and the transports.

`send_bulletin(workspace, composition, ...)` is the one entry point; the CLI and the demo
both call it. Heavy imports (SQLAlchemy, the SendGrid client) stay inside the modules that
need them, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.send.runner import SendPlan, SendSummary, plan_send, send_bulletin

__all__ = ["SendPlan", "SendSummary", "plan_send", "send_bulletin"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from composer.send import runner

        return getattr(runner, name)
    raise AttributeError(name)
