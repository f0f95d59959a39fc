"""`bulletin preview`: a local page that shows every segment of a bulletin as it composes.

`state` holds the last good composition and the current error, `watch` recomposes when a
source file is saved, `server` is the Starlette app and its uvicorn runner, `samples` are
the made-up recipients the page fills the merge fields with, and `static/` is the page.
"""
