"""The block catalogue for staff, from the block.yaml declarations: `bulletin blocks`
and the reference at the top of docs/BLOCKS.md (`python -m composer.authoring.catalogue`)."""

from __future__ import annotations

import sys
from pathlib import Path

from composer.authoring.writer import dump_yaml
from composer.compose.blocks import BlockSpec, FieldSpec, available_blocks, load_block

BEGIN = "<!-- block reference: generated from sections/*/block.yaml by `make docs`; do not edit by hand -->"
END = "<!-- end of the generated block reference -->"


def load_all(sections_dir: Path) -> list[BlockSpec]:
    return [load_block(sections_dir, name) for name in available_blocks(sections_dir)]


def one_line(spec: BlockSpec) -> str:
    """The first sentence of the block's description."""
    text = " ".join(spec.declaration.description.split())
    head, dot, _ = text.partition(". ")
    return head + ("." if dot and not head.endswith(".") else "")


def field_rows(spec: BlockSpec) -> list[tuple[str, str, str, str, str]]:
    """(name, type, required, default, help) for every field, list items as `list.item`."""
    rows: list[tuple[str, str, str, str, str]] = []

    def add(field: FieldSpec, prefix: str = "") -> None:
        kind = f"list of {field.items}" if isinstance(field.items, str) else field.type
        default = "" if field.default in (None, []) else str(field.default)
        rows.append((prefix + field.name, kind, "yes" if field.required else "no", default, " ".join(field.help.split())))
        if isinstance(field.items, list):
            for item in field.items:
                add(item, f"{prefix}{field.name}[].")

    for field in spec.fields:
        add(field)
    return rows


def example_yaml(spec: BlockSpec) -> str:
    example = {"block": spec.name, **(spec.declaration.example or {})}
    return dump_yaml([example]).rstrip() + "\n"


def describe(spec: BlockSpec) -> str:
    """`bulletin blocks NAME`: the description, each field, and a filled-in example."""
    lines = [f"{spec.name}: {' '.join(spec.declaration.description.split())}", ""]
    if spec.declaration.standing:
        lines += ["A standing section: `bulletin new` keeps it from one issue to the next.", ""]
    lines.append("Fields:")
    for name, kind, required, default, help_ in field_rows(spec):
        extra = f", default: {default}" if default else ""
        lines.append(f"  {name} ({kind}, {'required' if required == 'yes' else 'optional'}{extra})")
        if help_:
            lines.append(f"      {help_}")
    lines += ["", "Example (under sections: in a bulletin):", ""]
    lines += ["  " + line for line in example_yaml(spec).splitlines()]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_reference(sections_dir: Path) -> str:
    """The staff reference, as it opens docs/BLOCKS.md."""
    specs = load_all(sections_dir)
    out = [BEGIN, "", "## The blocks", "", "| block | what it is for |", "| --- | --- |"]
    out += [f"| [`{s.name}`](#{s.name}) | {_cell(one_line(s))} |" for s in specs]
    for spec in specs:
        out += ["", f"### {spec.name}", "", " ".join(spec.declaration.description.split()), ""]
        if spec.declaration.standing:
            out += ["A standing section: `bulletin new` keeps it from one issue to the next.", ""]
        out += ["| field | type | required | default | what to write |", "| --- | --- | --- | --- | --- |"]
        out += [f"| `{n}` | {k} | {r} | {_cell(d)} | {_cell(h)} |" for n, k, r, d, h in field_rows(spec)]
        out += ["", "```yaml", example_yaml(spec).rstrip(), "```"]
    out += ["", END]
    return "\n".join(out) + "\n"


def updated_document(current: str, sections_dir: Path) -> str:
    """docs/BLOCKS.md with its generated reference replaced (or put first when missing)."""
    reference = markdown_reference(sections_dir)
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + reference.rstrip("\n") + tail
    title, _, body = current.partition("\n")
    return f"{title}\n\n{reference}\n{body.lstrip()}"


def main(argv: list[str]) -> int:
    """`python -m composer.authoring.catalogue [--check] [docs/BLOCKS.md] [sections]`."""
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    doc = Path(args[0] if args else "docs/BLOCKS.md")
    sections = Path(args[1] if len(args) > 1 else "sections")
    current = doc.read_text(encoding="utf-8")
    wanted = updated_document(current, sections)
    if check:
        if wanted != current:
            print(f"{doc} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        doc.write_text(wanted, encoding="utf-8")
        print(f"updated {doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
