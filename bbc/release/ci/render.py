"""Pipeline files as YAML text, each headed by what wrote it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bbc.release.ci.jobs import Job

TOP = "pipeline.yml"


def texts(kind: str, found: Sequence[Job], files: Mapping[str, dict[str, Any]], folder: str) -> dict[str, str]:
    """File name -> text. The first line of each says bbc wrote it (a later `bbc ci -o` removes
    only such files)."""
    what = ", ".join(j.image for j in found[:20]) + (f" and {len(found) - 20} more" if len(found) > 20 else "")
    head = (f"# bbc ci {kind}: written from the plan; builds {what or 'nothing (one no-op job)'}\n"
            "# registry credentials: the DOCKER_AUTH_CONFIG CI variable (a Docker config JSON)\n")
    return {name: (head if len(files) == 1 or name == TOP else
                   f"# bbc ci {kind}: child pipeline {name.removesuffix('.yml')} of {folder}/{TOP}\n") + dump(doc)
            for name, doc in files.items()}


def dump(doc: Mapping[str, Any]) -> str:
    import yaml

    class NoAliases(yaml.SafeDumper):
        # GitHub Actions reads no YAML anchors; a value used twice is written out twice
        def ignore_aliases(self, data: object) -> bool:
            return True

    return str(yaml.dump(dict(doc), Dumper=NoAliases, sort_keys=False, width=1000, default_flow_style=False))
