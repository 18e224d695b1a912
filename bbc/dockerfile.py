"""The little Dockerfile reading bbc needs: which args feed FROM lines."""

from __future__ import annotations

import re


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out: list[tuple[int, str, str]] = []
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    return out


def uses_arg_in_from(text: str, arg: str) -> bool:
    """True when some FROM line expands `$arg` / `${arg}` / `${arg:-default}`."""
    pattern = re.compile(r"\$(?:\{" + re.escape(arg) + r"(?:[:}]|$)|" + re.escape(arg) + r"\b)")
    return any(word == "FROM" and pattern.search(rest) for _, word, rest in instructions(text))
