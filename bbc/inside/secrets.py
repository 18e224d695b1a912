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


def find(path: str, data: bytes) -> list[Hit]:
    """Every kind of secret `data` (the file at `path`) holds, once each."""
    return [Hit(path, kind) for kind, prefixes, pattern in PATTERNS
            if any(p in data for p in prefixes) and pattern.search(data)]
