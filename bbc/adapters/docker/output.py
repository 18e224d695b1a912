"""A container's output as it streams: decoded (a character split between two chunks stays
whole), re-split into lines, passed on line by line, and the last TAIL_BYTES kept for the
result. A line longer than LINE_MAX comes in pieces, so 100 MB without a newline never sits in
memory whole, and what a test printed last is never lost to what it printed first.
"""

from __future__ import annotations

import codecs
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

LINE_MAX = 16 * 1024  # characters: a longer line is passed on in pieces this long
TAIL_BYTES = 4 * 1024 * 1024  # of the output, kept for the result (the log holds the rest)
STALL = 60.0  # seconds without a byte after the container ended: the engine sends no more


class Output:
    """One container's output, fed chunk by chunk by a reader thread."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.received = 0  # bytes read so far
        self.error: BaseException | None = None  # what on_line raised (a log that cannot be written)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._lines: deque[str] = deque()
        self._kept = 0
        self._cut = 0
        self._closed = False
        self._lock = threading.Lock()

    def read(self, chunks: Iterable[bytes]) -> None:
        """Take every chunk until the stream ends (the reader thread's body); a stream broken
        off (the container removed) ends it too."""
        try:
            for chunk in chunks:
                self.feed(chunk)
        except Exception:  # the container went away: the wait says what became of it
            pass
        finally:
            self.end()

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        text = self._partial + self._decoder.decode(chunk)
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._emit(line.rstrip("\r"))
        while len(self._partial) > LINE_MAX:
            self._emit(self._partial[:LINE_MAX])
            self._partial = self._partial[LINE_MAX:]

    def end(self) -> None:
        rest = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if rest:
            self._emit(rest.rstrip("\r"))

    def give_up(self, why: str) -> None:
        """Stop taking lines (the reader may go on in the background), saying why."""
        self._emit(why)
        with self._lock:
            self._closed = True

    def text(self) -> str:
        """The output kept: its last TAIL_BYTES, after a line saying how much was cut before."""
        with self._lock:
            head = [f"[... {self._cut} bytes of output before these lines were cut ...]"] if self._cut else []
            return "\n".join([*head, *self._lines])

    def _emit(self, line: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._lines.append(line)
            self._kept += len(line) + 1
            while self._kept > TAIL_BYTES and len(self._lines) > 1:
                dropped = self._lines.popleft()
                self._kept -= len(dropped) + 1
                self._cut += len(dropped) + 1
        if self.error is None:
            try:
                self.on_line(line)
            except Exception as exc:  # kept for the caller, who raises it; the output is still read
                self.error = exc


def demux(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The payload of an attach stream's frames (8-byte header: stream, 3 zero bytes, size),
    stdout and stderr alike, from blocks read as they come: one bytes per block, so the many
    tiny frames of `yes` cost no Python call each (the SDK reads each frame with two)."""
    buf = b""
    for block in blocks:
        buf += block
        out, i, end = [], 0, len(buf)
        while end - i >= 8:
            size = int.from_bytes(buf[i + 4:i + 8], "big")
            if end - i - 8 < size:
                break
            out.append(buf[i + 8:i + 8 + size])
            i += 8 + size
        buf = buf[i:]
        if out:
            yield b"".join(out)


def blocks(sock: Any, size: int = 65536) -> Iterator[bytes]:
    """What `sock` (an attach socket as the SDK hands it out: a socket, an SSL socket, an SSH
    channel, or the SocketIO over a unix socket) sends, as it comes, until it closes."""
    read = getattr(sock, "recv", None) or sock.read
    while True:
        block = read(size)
        if not block:
            return
        yield bytes(block)


def close(sock: Any) -> None:
    """Close an attach socket whole: the SDK's socket-like object, the socket under it and the
    HTTP response it keeps alive (closing only the first leaves the connection open)."""
    for part in (sock, getattr(sock, "_sock", None), getattr(sock, "_response", None)):
        if part is not None:
            with contextlib.suppress(Exception):
                part.close()


def drain(reader: threading.Thread, output: Output, stall: float = STALL) -> None:
    """Wait until `reader` read the stream to its end. Only a stream that sends nothing for
    `stall` seconds is given up on, and the output says so."""
    while reader.is_alive():
        before = output.received
        reader.join(stall)
        if reader.is_alive() and output.received == before:
            output.give_up(f"[bbc: the engine sent no more of this output for {stall:.0f}s after "
                           f"{output.received} bytes; the rest was not read]")
            return
