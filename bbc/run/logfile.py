"""A step's log under .bbc/logs/, written as the step streams (line by line, so `tail -f`
works) straight to the file: no buffer is left to fail when it closes, and a write that fails
(a full disk) is one BbcError naming the file, after which the log takes nothing more.

A command's output (a test's) may be capped: past `head` bytes only its last `tail` bytes are
kept, written when the command ends after a line saying how much was cut there, so a test that
prints gigabytes neither fills the disk nor loses its last lines. bbc's own lines (`== test
...`) are always written.
"""

from __future__ import annotations

import errno
import threading
from collections import deque
from pathlib import Path
from types import TracebackType

from bbc.adapters import state
from bbc.errors import BbcError


class LogFile:
    def __init__(self, path: Path, *, head: int | None = None, tail: int = 0, failing: str = "") -> None:
        """`head`: bytes of a command's output written as they come (None: all of it);
        `tail`: bytes of the rest kept for the end; `failing`: what the error of a failed write
        adds (`nothing was tagged`)."""
        self.path = path
        self.head = head
        self.tail = tail
        self.failing = failing
        self.intact = True  # every line given was written
        self._lock = threading.Lock()
        self._written = 0  # bytes of the current command's output written
        self._kept: deque[bytes] = deque()
        self._kept_bytes = 0
        self._cut = 0  # bytes of the current command's output dropped
        try:
            state.ensure(path.parent)
            self._file = open(path, "wb", buffering=0)  # noqa: SIM115 (closed by close())
        except OSError as exc:
            self.intact = False
            raise self._error(exc) from None

    def __enter__(self) -> LogFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def line(self, text: str) -> None:
        """One of bbc's own lines: the output before it ends."""
        with self._lock:
            self._end_output()
            self._write(text.encode("utf-8", "replace") + b"\n")

    def output(self, text: str) -> None:
        """One line of a command's output, capped."""
        data = text.encode("utf-8", "replace") + b"\n"
        with self._lock:
            if self.head is None or self._written + len(data) <= self.head:
                self._written += len(data)
                self._write(data)
                return
            self._written = self.head  # the head is full: from here on only the tail is kept
            self._kept.append(data)
            self._kept_bytes += len(data)
            while self._kept_bytes > self.tail and self._kept:
                dropped = self._kept.popleft()
                self._kept_bytes -= len(dropped)
                self._cut += len(dropped)

    def end_output(self) -> None:
        """The command ended: its kept tail written."""
        with self._lock:
            self._end_output()

    def close(self) -> None:
        with self._lock:
            try:
                self._end_output()
            finally:
                self._file.close()

    def _end_output(self) -> None:
        kept, cut = b"".join(self._kept), self._cut
        self._kept.clear()
        self._kept_bytes = self._cut = self._written = 0
        if cut:
            self._write(f"[... {cut} bytes of its output cut here; the first {self.head} and the last "
                        f"{len(kept)} are kept ...]\n".encode())
        if kept:
            self._write(kept)

    def _write(self, data: bytes) -> None:
        if not self.intact:
            return
        try:
            while data:  # an unbuffered file may take part of it
                done = self._file.write(data)
                if not done:
                    raise OSError(errno.EIO, "the file took no more bytes")
                data = data[done:]
        except OSError as exc:
            self.intact = False
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> BbcError:
        why = exc.strerror or str(exc)
        return BbcError(f"cannot write {self.path}: {why}" + (f"; {self.failing}" if self.failing else ""))
