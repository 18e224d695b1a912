"""Secrets in a layer's files, by pattern: private keys, cloud and registry tokens.

A short list of well-known, prefix-anchored formats (the same shapes gitleaks and Yelp's
detect-secrets match for these providers) rather than detect-secrets itself: it scans files
on disk line by line with every plugin, and its entropy plugins flag hashes and test data all
over site-packages. Here each file is one bytes search for the prefixes (memmem speed), and
the regexes run only on files that hold one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (kind, literal prefixes to look for first, the full pattern)
PATTERNS: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes]], ...] = (
    ("private key", (b"PRIVATE KEY-----",),
     re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key", (b"AKIA", b"ASIA"), re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
     re.compile(rb"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})")),
    ("GitLab token", (b"glpat-",), re.compile(rb"glpat-[A-Za-z0-9_\-]{20,}")),
    ("Slack token", (b"xoxb-", b"xoxa-", b"xoxp-", b"xoxo-", b"xoxs-", b"xoxr-"), re.compile(rb"xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Google API key", (b"AIza",), re.compile(rb"AIza[0-9A-Za-z_\-]{35}")),
    ("PyPI token", (b"pypi-AgE",), re.compile(rb"pypi-AgE[A-Za-z0-9_\-]{50,}")),
    ("npm token", (b"npm_",), re.compile(rb"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("registry credentials", (b'"auths"',), re.compile(rb'"auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[A-Za-z0-9+/=]{8,}"')),
)


@dataclass(frozen=True)
class Hit:
    path: str
    kind: str


def _any_prefix(prefixes: list[bytes]) -> re.Pattern[bytes]:
    """One pass for every prefix at once, grouped by first byte (`A(?:KIA|SIA|Iza)|g(?:hp_|...)`):
    the regex engine then tries a position only where one of a few bytes stands. On the
    example's ml layers (6,700 files, 156 MB) 0.7 s against 1.9 s for a search per prefix."""
    first: dict[bytes, list[bytes]] = {}
    for p in prefixes:
        first.setdefault(p[:1], []).append(re.escape(p[1:]))
    return re.compile(b"|".join(re.escape(b) + b"(?:" + b"|".join(rest) + b")" for b, rest in first.items()))


_ANY = _any_prefix([p for _, prefixes, _ in PATTERNS for p in prefixes])


def find(path: str, data: bytes) -> list[Hit]:
    """Every kind of secret `data` (the file at `path`) holds, once each."""
    if not _ANY.search(data):  # most files hold no prefix at all
        return []
    return [Hit(path, kind) for kind, prefixes, pattern in PATTERNS
            if any(p in data for p in prefixes) and pattern.search(data)]


# A build arg or ENV whose name says it holds a secret, given a value: how a password passed as a
# build arg shows in the image's history (`RUN |2 USERNAME=u PASSWORD=p /bin/sh -c ...`) or config
_NAMED = re.compile(r"(?:^|[\s|])([A-Za-z0-9_]*(?:PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY"
                    r"|CREDENTIALS?)[A-Za-z0-9_]*)=(?=[^\s$])", re.IGNORECASE)


def in_build_record(text: str) -> list[str]:
    """What a history step or an Env entry gives away, once each: the kinds of secret it
    holds (by pattern) and the secret-named variables it sets; never the values."""
    data = text.encode(errors="replace")
    found = [kind for kind, prefixes, pattern in PATTERNS if any(p in data for p in prefixes) and pattern.search(data)]
    names = dict.fromkeys(m.group(1) for m in _NAMED.finditer(text))
    # PASSWORD_FILE=/run/secrets/pw names where a secret is, not the secret
    found += [f"{name} set to a value" for name in names if not name.upper().endswith(("_FILE", "_PATH", "_DIR"))]
    return found
