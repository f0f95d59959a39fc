"""What every lists operation needs: the store, the address hasher and the segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composer.errors import InputError, did_you_mean, display_path
from composer.identity import AddressHasher
from composer.segments import Segment, load_segments
from composer.store.db import Store
from composer.workspace import Workspace


@dataclass
class Lists:
    """An open contact store with its hasher and the workspace's declared segments."""

    store: Store
    hasher: AddressHasher
    segments: dict[str, Segment]
    segments_file: str = "lists/segments.yaml"

    def segment(self, name: str) -> str:
        """The segment name if declared, else an InputError naming the known ones."""
        if name not in self.segments:
            known = ", ".join(self.segments)
            raise InputError(
                f"unknown segment '{name}'{did_you_mean(name, self.segments)} (the segments declared "
                f"in {self.segments_file}: {known})"
            )
        return name

    def close(self) -> None:
        self.store.close()


def open_lists(workspace: Workspace, **store_kwargs: Any) -> Lists:
    """Open the workspace's store (migrating it to head) with its hasher and segments."""
    segments = load_segments(workspace.segments_file)
    return Lists(
        store=Store(workspace.database_url(), **store_kwargs),
        hasher=AddressHasher(workspace.secret_keys()),
        segments=segments,
        segments_file=display_path(workspace.segments_file, workspace.root),
    )


def check_address(address: str, *, strict: bool = True) -> str:
    """The trimmed address, or an InputError if it is not one.

    `strict` applies email-validator's syntax check (for suppress). Erasure and subject
    access only need an @-sign: they must still work for an address that reached the
    store some other way (a webhook event) even if it is not valid.
    """
    from composer.lists.rows import AddressValidator

    address = address.strip()
    if not address:
        raise InputError("the email address is empty")
    if "@" not in address:
        raise InputError(f"'{address}' is not an email address (no @-sign)")
    if strict:
        problem = AddressValidator().error(address)
        if problem is not None:
            raise InputError(f"'{address}' is not a valid email address: {problem}")
    return address
