"""The editor in `bulletin preview`: forms from block.yaml, drafts, and careful saves."""
