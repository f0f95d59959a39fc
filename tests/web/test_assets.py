"""`bulletin serve` answers the pictures compose published, with long cache headers, and
no other file on the disk."""

from __future__ import annotations

import re
from pathlib import Path

from composer.compose.pipeline import compose_bulletin, default_out_dir, write_outputs

SAMPLE = Path("bulletins/2026-06-gpce.yaml")


def _published(serve_workspace) -> str:  # type: ignore[no-untyped-def]
    comp = compose_bulletin(serve_workspace, serve_workspace.root / SAMPLE)
    write_outputs(serve_workspace, comp, default_out_dir(serve_workspace, serve_workspace.root / SAMPLE))
    match = re.search(r'src="https://bulletin\.example(/assets/[0-9a-f]{16}\.png)"', comp.renders["lmc"].html)
    assert match, "the sample's picture is published under base_url/assets/"
    return match.group(1)


def test_a_published_picture_is_served_and_cached_for_a_year(serve_workspace, client) -> None:  # type: ignore[no-untyped-def]
    path = _published(serve_workspace)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    source = serve_workspace.root / "bulletins" / "2026-06-gpce" / "collective-action.png"
    assert response.content == source.read_bytes()


def test_nothing_else_on_the_disk_is_reachable(serve_workspace, client) -> None:  # type: ignore[no-untyped-def]
    path = _published(serve_workspace)
    name = path.rsplit("/", 1)[1]
    (serve_workspace.root / "secret.png").write_bytes(b"not for the public")
    for probe in (
        "/assets/../bulletin.toml", "/assets/%2e%2e/bulletin.toml", "/assets/..%2fbulletin.toml",
        "/assets/..%2f..%2fsecret.png", "/assets/secret.png", "/assets/collective-action.png",
        f"/assets/{name[:-4]}.txt", "/assets/%2fetc%2fpasswd", "/assets/",
        f"/assets/{name.upper()}",
    ):  # fmt: skip
        response = client.get(probe)
        assert response.status_code == 404, probe
        assert b"not for the public" not in response.content and b"[sender]" not in response.content, probe
