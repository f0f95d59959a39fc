"""Every package the code imports is declared in pyproject.toml, and the lock pins each one.

A package that only arrives as another's dependency can vanish when that one changes, so
an import that nothing declares breaks a fresh install some day; and a declared package
that the lock lacks would be resolved afresh on every machine.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.support import REPO

LOCAL = {"composer", "tests", "bench"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    names = (re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line) for line in lines)
    return {_canonical(m.group(0)) for m in names if m}


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_canonical(name)] = version
    return pins


def _imported_top_levels() -> dict[str, str]:
    """Top-level module → the first file importing it, over composer/, tests/ and bench/."""
    found: dict[str, str] = {}
    for folder in LOCAL:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "attr", None) == "importorskip"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    names = [str(node.args[0].value)]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared() -> None:
    declared = _declared()
    owners = packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_levels().items()):
        if module in LOCAL or module in sys.stdlib_module_names:
            continue
        dists = {_canonical(d) for d in owners.get(module, [])}
        assert dists, f"{where} imports {module}, which no installed package provides"
        if not dists & declared:
            missing.append(f"{module} ({where}; from {', '.join(sorted(dists))})")
    assert not missing, "imported but not declared in pyproject.toml: " + "; ".join(missing)


def test_the_lock_pins_every_declared_package_exactly() -> None:
    pins = _locked()
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pins.values()), pins
    unpinned = sorted(_declared() - set(pins))
    assert not unpinned, f"declared but not in constraints.txt (run `make lock`): {unpinned}"


def test_the_lock_is_sorted_so_a_refresh_diffs_cleanly() -> None:
    lines = [
        line
        for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == sorted(lines, key=lambda line: line.encode().upper())  # LC_ALL=C sort -f
