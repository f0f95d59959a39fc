"""`bulletin report CAMPAIGN`: the library call behind the command, and its outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from composer.results import figures
from composer.results.links import catalogue
from composer.send.reports import find_campaign
from composer.store.db import Store
from composer.workspace import Workspace


def campaign_report(
    workspace: Workspace, ident: str, *, now: datetime | None = None, store: Store | None = None
) -> dict[str, Any]:
    """The report of campaign `ident` (an id, or a bulletin key for its latest campaign),
    as the documented JSON schema (docs/REPORT.md). Raises NotFound."""
    the_store = store or Store(workspace.database_url())
    try:
        with the_store.session() as session:
            campaign = find_campaign(session, ident)
            key, content_hash = campaign.key, campaign.content_hash
        links = catalogue(workspace, key, content_hash)  # composes the bulletin: outside the transaction
        with the_store.session() as session:
            campaign = find_campaign(session, str(campaign.id))
            return figures.build(
                session, campaign, workspace.config.tracking, links, workspace.sender.base_url, now
            )
    finally:
        if store is None:
            the_store.close()
