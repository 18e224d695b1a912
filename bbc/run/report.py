"""Output: one line per image event (like a build log people know), live progress on a
terminal, a summary table at the end, JSON for machines."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol

from bbc.plan.kinds import Action, Kind
from bbc.run.results import Status


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


_WHAT = {Kind.TEST_LAYER: "test layer", Kind.TEST_IMAGE: "test image", Kind.PUSH: "push", Kind.TAG: "release tags",
         Kind.PROMOTE: "promote"}


def event_line(result: Any) -> str:
    kind = getattr(result, "kind", Kind.BUILD)  # a testing.ImageResult has none
    what = _WHAT.get(kind, "")
    status = result.status
    if status == Status.BUILT:
        if what:
            return f"[{result.image}] built {what} in {result.seconds:.1f}s"
        on = f" on {result.engine}" if getattr(result, "engine", "") else ""  # a pool names its engine
        return f"[{result.image}] built {result.version} in {result.seconds:.1f}s ({human_size(result.size)}){on}"
    if status == Status.PULLED:
        return f"[{result.image}] pulled {result.version} in {result.seconds:.1f}s (the registry held this exact build)"
    if status == Status.UP_TO_DATE:
        return f"[{result.image}] up to date {result.version}"
    if status == Status.PASSED:
        return f"[{result.image}] tests passed in {result.seconds:.1f}s"
    if status == Status.CACHED:
        return f"[{result.image}] tests passed before: same image, same tests"
    if status == Status.TAGGED:
        return f"[{result.image}] tagged {', '.join(t.rpartition(':')[2] for t in result.tags)}"
    if status in (Status.PUSHED, Status.PROMOTED, Status.REUSED):
        return f"[{result.image}] {status}" if result.image != "*" else f"{status} in {result.seconds:.1f}s"
    if status == Status.SKIPPED:
        return f"[{result.image}] {what + ' ' if what else ''}skipped ({result.message})"
    head, _, tail = result.message.partition("\n")
    out = f"[{result.image}] {what + ' ' if what else ''}FAILED after {result.seconds:.1f}s: {head}"
    if tail:
        out += "\n" + "\n".join(f"    | {line}" for line in tail.splitlines())
    if getattr(result, "log", ""):
        out += f"\n    full log: {result.log}"
    return out


def started_line(image: str, step: Any) -> str | None:
    """What a step starting says; None for steps that say nothing until they finish."""
    why = ", ".join(step.reasons) if getattr(step, "reasons", None) else ""
    kind = getattr(step, "kind", Kind.BUILD)
    if kind == Kind.BUILD:
        verb = "pulling" if getattr(step, "action", "") == Action.PULL else "building"
        return f"[{image}] {verb} {getattr(step, 'version', '')}" + (f" ({why})" if why else "")
    if kind == Kind.RUN_TEST:
        reasons = list(getattr(step, "reasons", ()))
        tests = reasons.pop(0).removeprefix("tests: ") if reasons else ""
        return f"[{image}] testing {tests}" + (f" ({'; '.join(reasons)})" if reasons else "")
    if kind == Kind.PUSH:
        return f"[{image}] pushing candidate"
    if kind == Kind.PROMOTE:
        return "promoting: " + why
    return None


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
        line = started_line(image, step)
        if line is not None:
            self._print(line)

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
        line = started_line(image, step)
        with self.lock:
            if line is not None:
                self.progress.console.print(line, markup=False, highlight=False)
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
            style = {Status.FAILED: "red", Status.SKIPPED: "yellow", Status.UP_TO_DATE: "dim", Status.REUSED: "dim",
                     Status.CACHED: "dim"}.get(result.status, "green")
            self.progress.console.print(event_line(result), style=style, markup=False, highlight=False)

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


class Quiet:
    """Says nothing: an up-to-date build is one line, printed by the command."""

    def started(self, image: str, step: Any) -> None: ...
    def line(self, image: str, text: str) -> None: ...
    def finished(self, result: Any) -> None: ...
    def message(self, text: str) -> None: ...


class BuildsOnly:
    """Pass events through, but not a line per up-to-date release build."""

    def __init__(self, events: Events) -> None:
        self.events = events

    def started(self, image: str, step: Any) -> None:
        self.events.started(image, step)

    def line(self, image: str, text: str) -> None:
        self.events.line(image, text)

    def finished(self, result: Any) -> None:
        if result.status != Status.UP_TO_DATE:
            self.events.finished(result)

    def message(self, text: str) -> None:
        self.events.message(text)


def make_events(*, json_mode: bool, verbose: bool = False) -> Events:
    if json_mode:
        return PlainEvents(sys.stderr, verbose=verbose)
    if sys.stdout.isatty() and not verbose:
        return RichEvents()
    return PlainEvents(sys.stdout, verbose=verbose)


def close(events: Events) -> None:
    if isinstance(events, BuildsOnly):
        events = events.events
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
