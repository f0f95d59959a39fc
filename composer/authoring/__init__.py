"""Authoring for comms staff: import a Word draft into a bulletin, the block catalogue,
and starting the next issue from the last one."""
