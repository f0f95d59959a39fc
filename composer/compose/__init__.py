"""Compose: bulletin source → per-segment HTML and text with merge tokens → MIME."""
