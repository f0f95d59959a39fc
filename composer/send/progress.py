"""A rich progress bar for a send: done/total, recipients per second and time left."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Recipients per second over rich's recent window."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("–/s" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class RichProgress:
    """The `Progress` protocol of `composer.send.runner`, drawn with rich on stderr."""

    def __init__(self, console: Console | None = None, description: str = "Sending") -> None:
        self.console = console or Console(stderr=True)
        self.description = description
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=total)

    def advance(self, count: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, count)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
