"""Sending a composed bulletin: campaigns, the per-recipient ledger, and the transports.

`send_bulletin(workspace, composition, ...)` is the one entry point; the CLI and the demo
both call it. Heavy imports (SQLAlchemy, the SendGrid client) stay inside the modules that
need them, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.send.plan import SendPlan, plan_send
    from composer.send.runner import SendSummary, send_bulletin

__all__ = ["SendPlan", "SendSummary", "plan_send", "send_bulletin"]
_WHERE = {"SendPlan": "plan", "plan_send": "plan", "SendSummary": "runner", "send_bulletin": "runner"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"composer.send.{_WHERE[name]}"), name)
    raise AttributeError(name)
