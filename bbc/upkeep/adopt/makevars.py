"""GNU make's variables as far as a build line needs them: `=`, `:=`, `?=`, `+=`, references
`$(X)`/`${X}`/`$X`, and the text functions tag lists are built with (`foreach`, `addprefix`,
`subst`, `patsubst`, ...). What make only knows when it runs (`$(shell ...)`, `$@`, a variable
nobody sets here) expands to UNKNOWN, which matches anything when references are compared."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bbc.upkeep.adopt.records import UNKNOWN

_MAX_DEPTH = 30  # a variable that refers to itself through others stops here


@dataclass(frozen=True)
class Value:
    text: str
    recursive: bool  # `=` (expanded when used) rather than `:=` (expanded when set)


@dataclass
class Variables:
    """The variables of one make run, in the order its lines set them."""

    values: dict[str, Value] = field(default_factory=dict)

    def assign(self, name: str, op: str, raw: str) -> None:
        if op == "?=":
            if name not in self.values:
                self.values[name] = Value(raw, True)
        elif op in (":=", "::=", ":::="):
            self.values[name] = Value(self.expand(raw), False)
        elif op == "+=":
            old = self.values.get(name)
            if old is None:
                self.values[name] = Value(raw, True)
            elif old.recursive:
                self.values[name] = Value(f"{old.text} {raw}".strip(), True)
            else:
                self.values[name] = Value(f"{old.text} {self.expand(raw)}".strip(), False)
        elif op == "!=":
            self.values[name] = Value(UNKNOWN, False)  # a shell command's output
        else:
            self.values[name] = Value(raw, True)

    def defined(self, name: str) -> bool:
        return name in self.values

    def expand(self, text: str, local: Mapping[str, str] | None = None, depth: int = 0) -> str:
        """`text` with every reference and function expanded."""
        if "$" not in text:
            return text
        if depth > _MAX_DEPTH:
            return UNKNOWN
        out: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "$" or i + 1 == len(text):
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt in "({":
                end = _closing(text, i + 1)
                out.append(self._reference(text[i + 2:end], local or {}, depth))
                i = end + 1
            else:
                out.append(self._lookup(nxt, local or {}, depth))
                i += 2
        return "".join(out)

    def _lookup(self, name: str, local: Mapping[str, str], depth: int) -> str:
        if name in local:
            return local[name]
        value = self.values.get(name)
        if value is None:
            return UNKNOWN  # automatic variables, the environment, the command line
        return self.expand(value.text, local, depth + 1) if value.recursive else value.text

    def _reference(self, inner: str, local: Mapping[str, str], depth: int) -> str:
        name, _, rest = inner.partition(" ")
        function = _FUNCTIONS.get(name)
        if function is not None and rest:
            args = _split_args(rest.lstrip())
            return function(lambda a: self.expand(a, local, depth + 1), args, self, local, depth)
        if name in ("shell", "wildcard", "call", "eval", "value", "origin", "file", "realpath", "abspath"):
            return UNKNOWN
        name = self.expand(inner, local, depth + 1)
        if ":" in name and "=" in name:  # $(VAR:.c=.o)
            var, _, sub = name.partition(":")
            old, _, new = sub.partition("=")
            words = self._lookup(var, local, depth).split()
            return " ".join(w[: -len(old)] + new if old and w.endswith(old) else w for w in words)
        return self._lookup(name, local, depth)


def _closing(text: str, at: int) -> int:
    """Index of the bracket closing the one at `at` (nesting counted), or the end."""
    opening = text[at]
    closing = ")" if opening == "(" else "}"
    level = 0
    for i in range(at, len(text)):
        if text[i] == opening:
            level += 1
        elif text[i] == closing:
            level -= 1
            if level == 0:
                return i
    return len(text)


def _split_args(text: str) -> list[str]:
    """A function's arguments, split at the commas outside nested references."""
    out: list[str] = []
    current: list[str] = []
    level = 0
    for c in text:
        if c in "({":
            level += 1
        elif c in ")}":
            level -= 1
        if c == "," and level == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(c)
    out.append("".join(current))
    return out


Expand = Callable[[str], str]


def _foreach(ex: Expand, args: list[str], v: Variables, local: Mapping[str, str], depth: int) -> str:
    if len(args) < 3:
        return UNKNOWN
    var, words = ex(args[0]).strip(), ex(args[1]).split()
    body = ",".join(args[2:])
    return " ".join(v.expand(body, {**local, var: w}, depth + 1) for w in words)


def _patsubst(ex: Expand, args: list[str], *_: object) -> str:
    if len(args) < 3:
        return UNKNOWN
    pattern, repl = ex(args[0]), ex(args[1])
    head, pct, tail = pattern.partition("%")
    out = []
    for w in ex(args[2]).split():
        if not pct:
            out.append(repl if w == pattern else w)
        elif w.startswith(head) and w.endswith(tail) and len(w) >= len(head) + len(tail):
            out.append(repl.replace("%", w[len(head): len(w) - len(tail)], 1))
        else:
            out.append(w)
    return " ".join(out)


def _word(ex: Expand, args: list[str], *_: object) -> str:
    words = ex(args[1]).split() if len(args) > 1 else []
    n = ex(args[0]).strip()
    return words[int(n) - 1] if n.isdigit() and 0 < int(n) <= len(words) else ""


def _if(ex: Expand, args: list[str], *_: object) -> str:
    cond = ex(args[0]).strip()
    if UNKNOWN in cond:
        return UNKNOWN
    return ex(args[1]) if cond and len(args) > 1 else (ex(args[2]) if len(args) > 2 else "")


_FUNCTIONS: dict[str, Callable[..., str]] = {
    "foreach": _foreach,
    "patsubst": _patsubst,
    "word": _word,
    "if": _if,
    "addprefix": lambda ex, a, *_: " ".join(ex(a[0]) + w for w in ex(a[-1]).split()),
    "addsuffix": lambda ex, a, *_: " ".join(w + ex(a[0]) for w in ex(a[-1]).split()),
    "subst": lambda ex, a, *_: ex(a[2]).replace(ex(a[0]), ex(a[1])) if len(a) > 2 and ex(a[0]) else UNKNOWN,
    "strip": lambda ex, a, *_: " ".join(ex(",".join(a)).split()),
    "firstword": lambda ex, a, *_: next(iter(ex(",".join(a)).split()), ""),
    "lastword": lambda ex, a, *_: (ex(",".join(a)).split() or [""])[-1],
    "words": lambda ex, a, *_: str(len(ex(",".join(a)).split())),
    "sort": lambda ex, a, *_: " ".join(sorted(set(ex(",".join(a)).split()))),
    "notdir": lambda ex, a, *_: " ".join(w.rpartition("/")[2] for w in ex(",".join(a)).split()),
    "dir": lambda ex, a, *_: " ".join((w.rpartition("/")[0] or ".") + "/" for w in ex(",".join(a)).split()),
    "filter": lambda ex, a, *_: " ".join(w for w in ex(a[-1]).split() if w in ex(a[0]).split()),
    "filter-out": lambda ex, a, *_: " ".join(w for w in ex(a[-1]).split() if w not in ex(a[0]).split()),
}
