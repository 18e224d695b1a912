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


def _quote(text: str) -> str:
    # LABEL expands $variables and reads backslash escapes inside double quotes
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def with_labels(text: str, labels: dict[str, str], target: str | None = None) -> str | None:
    """`text` with one `LABEL k=v ...` line closing the built stage, or None when that cannot
    be done safely (a parser directive changes escaping, a value spans lines, unknown target).

    Docker 20.10's legacy builder turns each entry of the API's `labels` into a separate step
    (~70 ms each); one LABEL instruction costs one step.
    """
    if not labels or any("\n" in k or "\n" in v for k, v in labels.items()):
        return None
    if re.search(r"^\s*#\s*escape\s*=", text, re.IGNORECASE | re.MULTILINE):
        return None
    line = "LABEL " + " ".join(f"{_quote(k)}={_quote(v)}" for k, v in labels.items())
    lines = text.splitlines()
    if target is None:
        return "\n".join(lines + [line]) + "\n"
    froms = [(n, rest) for n, word, rest in instructions(text) if word == "FROM"]
    for i, (_number, rest) in enumerate(froms):
        words = rest.split()
        if len(words) >= 3 and words[-2].upper() == "AS" and words[-1].lower() == target.lower():
            if i + 1 == len(froms):
                return "\n".join(lines + [line]) + "\n"
            at = froms[i + 1][0] - 1  # the next stage's FROM line (0-based)
            return "\n".join(lines[:at] + [line] + lines[at:]) + "\n"
    return None
