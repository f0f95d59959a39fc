"""Transports are registered in one table: a new one is its module plus one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from composer.errors import ConfigError
from composer.send import send_bulletin
from composer.send.transports import TRANSPORTS, Registered
from composer.send.transports.outbox import OutboxTransport
from composer.workspace import Workspace, load_workspace
from tests.send.conftest import add_contacts, make_composition


class CopySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str


class CopyTransport(OutboxTransport):
    """A transport defined outside the package: the outbox, into a folder of its own."""

    name = "copy"

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> CopyTransport:
        settings = workspace.transport_settings("copy", CopySettings)
        assert settings is not None
        return cls(workspace.root / settings.folder)


def test_every_registered_class_answers_to_its_name() -> None:
    for name, entry in TRANSPORTS.items():
        assert entry.load().name == name


def test_a_transport_registered_by_one_line_is_configured_and_sent_through(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TRANSPORTS, "copy", Registered(f"{__name__}:CopyTransport", CopySettings))
    toml = workspace.root / "bulletin.toml"
    text = toml.read_text(encoding="utf-8").replace('transport = "outbox"', 'transport = "copy"')
    toml.write_text(text + '\n[copy]\nfolder = "copies"\n', encoding="utf-8")
    copied = load_workspace(workspace.root, env=workspace.env)
    add_contacts(copied, [{"email": "gp@example.org", "segments": ["lmc"]}])
    summary = send_bulletin(copied, make_composition(), ["lmc"])
    assert summary.sent == 1
    assert len(list(Path(workspace.root / "copies").rglob("*.eml"))) == 1


def test_an_unknown_transport_or_a_bad_transport_setting_names_the_setting(workspace: Workspace) -> None:
    toml = workspace.root / "bulletin.toml"
    original = toml.read_text(encoding="utf-8")
    toml.write_text(original.replace('transport = "outbox"', 'transport = "pigeon"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting 'send.transport'.*unknown transport 'pigeon'"):
        load_workspace(workspace.root)
    toml.write_text(original.replace("port = 2525", "port = 'twenty-five'"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"setting 'smtp.port'"):
        load_workspace(workspace.root)
