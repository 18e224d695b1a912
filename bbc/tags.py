"""Which tags a version gets locally: X.Y.Z plus the floating X.Y, X and latest.
(Releases compute floating tags against what the registry holds: bbc/versions.py.)"""

from __future__ import annotations


def local_tags(version: str) -> list[str]:
    core, _, rest = version.partition("+")
    if "-" in core:  # a pre-release moves no floating tag
        return [_tag_safe(version)]
    major, minor, _patch = core.split(".")
    return [_tag_safe(version), f"{major}.{minor}", major, "latest"]


def _tag_safe(version: str) -> str:
    # Docker tags cannot hold '+'; build metadata becomes '_' as Helm and others do
    return version.replace("+", "_")
