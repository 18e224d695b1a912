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

# (kind, cheap prefix to look for first, the full pattern)
PATTERNS: tuple[tuple[str, bytes, re.Pattern[bytes]], ...] = (
    ("private key", b"PRIVATE KEY", re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key", b"AKIA", re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", b"gh", re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("GitLab token", b"glpat-", re.compile(rb"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("Slack token", b"xox", re.compile(rb"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", b"AIza", re.compile(rb"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("PyPI token", b"pypi-AgE", re.compile(rb"\bpypi-AgE[A-Za-z0-9_\-]{50,}")),
    ("npm token", b"npm_", re.compile(rb"\bnpm_[A-Za-z0-9]{36}\b")),
    ("registry credentials", b'"auth"', re.compile(rb'"auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[A-Za-z0-9+/=]{8,}"')),
)


@dataclass(frozen=True)
class Hit:
    path: str
    kind: str


def find(path: str, data: bytes) -> list[Hit]:
    """Every kind of secret `data` (the file at `path`) holds, once each."""
    return [Hit(path, kind) for kind, prefix, pattern in PATTERNS if prefix in data and pattern.search(data)]
