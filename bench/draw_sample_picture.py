"""Draw the June sample's collective-action picture (a flat illustration made for the
project: a prescription pad, a capsule and a tick in the layout's colours), 1200 x 600
for 600 px display. Run once; the PNG is committed:

    .venv/bin/python bench/draw_sample_picture.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "bulletins" / "2026-06-gpce" / "collective-action.png"
NAVY, GOLD, WHITE, PALE, SLATE = "#1b2a4a", "#f0b323", "#ffffff", "#eef1f5", "#6b7fa6"


def draw() -> Image.Image:
    image = Image.new("RGB", (1200, 600), NAVY)
    d = ImageDraw.Draw(image)
    d.rectangle((0, 560, 1200, 600), fill=GOLD)
    # the prescription pad
    d.rounded_rectangle((140, 90, 560, 510), radius=28, fill=WHITE)
    d.rectangle((140, 90, 560, 170), fill=SLATE)
    d.text((175, 112), "Rx", fill=WHITE, font_size=44)
    for y in range(220, 460, 56):
        d.rounded_rectangle((190, y, 510, y + 16), radius=8, fill=PALE)
    # the capsule, half gold, half white
    d.rounded_rectangle((660, 250, 1060, 370), radius=60, fill=WHITE)
    d.pieslice((660, 250, 780, 370), 90, 270, fill=GOLD)
    d.rectangle((720, 250, 860, 370), fill=GOLD)
    d.line((860, 250, 860, 370), fill=NAVY, width=6)
    # the tick: the decision is the practice's
    d.ellipse((880, 80, 1040, 240), fill=GOLD)
    d.line((918, 162, 950, 196, 1004, 124), fill=NAVY, width=18, joint="curve")
    return image


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    draw().quantize(colors=32).save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
