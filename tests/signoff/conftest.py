"""Shared helpers for the sign-off tests: a workspace asking for approvals, and approvals
recorded as another OS user would."""

from __future__ import annotations

import dataclasses

from composer.compose.model import Composition
from composer.signoff import approvals
from composer.store.db import Store
from composer.workspace import Workspace
from tests.send.conftest import fake_sendgrid, sg_workspace  # noqa: F401 - fixtures


def requiring(workspace: Workspace, n: int, **send: object) -> Workspace:
    """`workspace` with `[send] approvals_required = n` (and any other [send] settings)."""
    settings = workspace.config.send.model_copy(update={"approvals_required": n, **send})
    return dataclasses.replace(workspace, config=workspace.config.model_copy(update={"send": settings}))


def approve_as(workspace: Workspace, composition: Composition, name: str, os_user: str = "jane") -> None:
    store = Store(workspace.database_url())
    try:
        approvals.record(store, composition, name, os_user=os_user)
    finally:
        store.close()
