"""`bbc ci gitlab|github`: the plan as a CI pipeline (bbc/release/ci.py decides the jobs), printed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bbc.release import ci
from bbc.adapters.engine import Engine
from bbc.model.hierarchy import Hierarchy
from bbc.plan.steps import Selection


def ci_pipeline(hierarchy: Hierarchy, sel: Selection, kind: str, *, engine: Engine | None = None,
                install: Sequence[str] = (), config: str | None = None) -> int:
    """`install`: the lines that install bbc on a runner (default: ci.DEFAULT_INSTALL)."""
    import yaml

    install = tuple(install) or ci.DEFAULT_INSTALL
    found = ci.jobs(hierarchy, sel, engine)
    doc = (ci.gitlab if kind == "gitlab" else ci.github)(found, install=install, config=config)
    what = ", ".join(j.image for j in found) or "nothing (one no-op job)"
    sys.stdout.write(f"# bbc ci {kind}: written from the plan; builds {what}\n"
                     "# registry credentials: the DOCKER_AUTH_CONFIG CI variable (a Docker config JSON)\n")
    class NoAliases(yaml.SafeDumper):
        # GitHub Actions reads no YAML anchors; a value used twice is written out twice
        def ignore_aliases(self, data: object) -> bool:
            return True

    sys.stdout.write(yaml.dump(doc, Dumper=NoAliases, sort_keys=False, width=1000, default_flow_style=False))
    for job in found:
        print(f"bbc ci: {job.image} {job.version}: {job.why}", file=sys.stderr)
    return 0
