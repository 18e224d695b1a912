"""Output: one line per image event (like a build log people know), live progress on a
terminal, a summary table at the end, JSON for machines."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol


class Events(Protocol):
    def started(self, image: str, step: Any) -> None: ...
    def line(self, image: str, text: str) -> None: ...
    def finished(self, result: Any) -> None: ...
    def message(self, text: str) -> None: ...


def human_size(n: int) -> str:
    if n <= 0:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def event_line(result: Any) -> str:
    if result.status == "built":
        return f"[{result.image}] built {result.version} in {result.seconds:.1f}s ({human_size(result.size)})"
    if result.status == "up-to-date":
        return f"[{result.image}] up to date {result.version}"
    if result.status == "passed":
        return f"[{result.image}] tests passed in {result.seconds:.1f}s"
    if result.status == "skipped":
        return f"[{result.image}] skipped ({result.message})"
    head, _, tail = result.message.partition("\n")
    out = f"[{result.image}] FAILED after {result.seconds:.1f}s: {head}"
    if tail:
        out += "\n" + "\n".join(f"    | {line}" for line in tail.splitlines())
    if getattr(result, "log", ""):
        out += f"\n    full log: {result.log}"
    return out


class PlainEvents:
    """For CI and pipes: whole lines, flushed, no cursor tricks."""

    def __init__(self, stream: IO[str] | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.lock = threading.Lock()

    def _print(self, text: str) -> None:
        with self.lock:
            print(text, file=self.stream, flush=True)

    def started(self, image: str, step: Any) -> None:
        why = ", ".join(step.reasons) if getattr(step, "reasons", None) else ""
        version = getattr(step, "version", "")
        self._print(f"[{image}] building {version}" + (f" ({why})" if why else ""))

    def line(self, image: str, text: str) -> None:
        if self.verbose and text.strip():
            self._print(f"[{image}] | {text}")

    def finished(self, result: Any) -> None:
        self._print(event_line(result))

    def message(self, text: str) -> None:
        self._print(text)


class RichEvents:
    """On a terminal: a live line per running build showing its latest log line."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.fields[image]}"), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=self.console, transient=True,
        )
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.progress.start()

    def started(self, image: str, step: Any) -> None:
        why = ", ".join(step.reasons) if getattr(step, "reasons", None) else ""
        with self.lock:
            self.progress.console.print(f"[{image}] building {getattr(step, 'version', '')}" + (f" ({why})" if why else ""),
                                        markup=False, highlight=False)
            self.tasks[image] = self.progress.add_task("starting", image=image, total=None)

    def line(self, image: str, text: str) -> None:
        text = text.strip()
        if not text:
            return
        with self.lock:
            task = self.tasks.get(image)
            if task is not None:
                self.progress.update(task, description=text[:100])

    def finished(self, result: Any) -> None:
        with self.lock:
            task = self.tasks.pop(result.image, None)
            if task is not None:
                self.progress.remove_task(task)
            style = {"built": "green", "up-to-date": "dim", "passed": "green", "skipped": "yellow"}.get(result.status, "red")
            self.progress.console.print(event_line(result), style=style, markup=False, highlight=False)

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def make_events(*, json_mode: bool, verbose: bool = False) -> Events:
    if json_mode:
        return PlainEvents(sys.stderr, verbose=verbose)
    if sys.stdout.isatty() and not verbose:
        return RichEvents()
    return PlainEvents(sys.stdout, verbose=verbose)


def close(events: Events) -> None:
    if isinstance(events, RichEvents):
        events.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
    """A summary table: rich on a terminal, aligned plain text otherwise (same content)."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for h in headers:
            t.add_column(h)
        for row in rows:
            t.add_row(*row)
        Console().print(t)
        return
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    if title:
        print(title)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def dump_json(data: Any) -> None:
    # one dumps + one write: json.dump(indent=...) to a stream runs the slow pure-Python encoder
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start
