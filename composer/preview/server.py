"""The preview's runner: uvicorn on one listening socket, with the compose watcher.

`build_preview` is what `bulletin preview` runs. The app itself is `app.create_app`; the
editor is switched on only when the socket is on loopback.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from composer.errors import BulletinError
from composer.preview.app import create_app
from composer.preview.hosts import LOOPBACK_NAMES, is_loopback
from composer.preview.state import PreviewState

__all__ = ["PreviewServer", "bind_socket", "build_preview", "create_app", "is_loopback"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear error that says what to do about it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BulletinError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = " Is another preview running? Try --port with another number." if exc.errno == errno.EADDRINUSE else ""
        raise BulletinError(f"cannot listen on {host}:{port}: {exc.strerror}.{hint}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn that ends the page's event streams first, so a stop is never held up."""

    def __init__(self, config: uvicorn.Config, state: PreviewState) -> None:
        super().__init__(config)
        self._state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._state.close()
        await super().shutdown(sockets)


class PreviewServer:
    """The app, its compose watcher and uvicorn, on one listening socket."""

    def __init__(
        self,
        state: PreviewState,
        sock: socket.socket,
        *,
        watcher: Any | None = None,
        app: ASGIApp | None = None,
    ) -> None:
        bound = str(sock.getsockname()[0])
        allowed = LOOPBACK_NAMES | {bound} if is_loopback(bound) else None
        self.state = state
        self.sock = sock
        self.watcher = watcher
        config = uvicorn.Config(
            app or create_app(state, allowed_hosts=allowed),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config, state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        """Run until Ctrl+C (uvicorn handles the signal in the main thread)."""
        if self.watcher is not None:
            self.watcher.start()
        try:
            self._server.run(sockets=[self.sock])
        except KeyboardInterrupt:
            # uvicorn re-raises the Ctrl+C it handled once it has shut down; stopping
            # is what the person asked for, so it is not an error.
            pass
        finally:
            self.state.close()
            if self.watcher is not None:
                self.watcher.stop()
            self.sock.close()

    def start(self, timeout: float = 10) -> str:
        """Serve in a background thread (tests); returns the URL once it answers."""
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, name="preview-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the preview server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.state.close()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.watcher is not None:
            self.watcher.stop()
        self.sock.close()


def build_preview(workspace: Any, bulletin: Path, *, host: str, port: int) -> PreviewServer:
    """Bind, compose once, and set up the watcher: what `bulletin preview` runs.

    A compose error here does not stop the preview; the page shows it as a banner, and
    saving the fix recomposes.
    """
    from composer.preview.state import BulletinSource
    from composer.preview.watch import Watcher
    from composer.workspace import CONFIG_NAME

    sock = bind_socket(host, port)
    source = BulletinSource(workspace, bulletin)
    state = PreviewState(source)
    state.refresh()
    watcher = Watcher(
        state,
        files=[source.bulletin, source.root / CONFIG_NAME, workspace.segments_file],
        folders=[workspace.sections_dir, workspace.layouts_dir],
    )
    return PreviewServer(state, sock, watcher=watcher)
