"""What signing adds to a release of the example hierarchy (issue 23): time and registry requests.

The example must be built already (`scripts/demo` or `bbc build`); its builds are tagged into a
private registry's namespace (nothing is rebuilt) and released there, in process, through a
registry client that counts what it sends (bbc's own requests: write-once checks, promotion,
signing, SBOMs; the engine's layer pushes are not bbc's and not counted). Four runs:
  unsigned      `bbc release` with no signing key: candidates pushed, promoted, SBOMs published;
  sign          the same release run again with signing.key set: every manifest signed
                (cosign signature, provenance, SBOM attestation; each index too);
  again         run once more, signed: what a re-release costs when everything is signed;
  unsigned-again  the no-op release without signing, for comparison with `again`.
Run from the repository root with DOCKER_HOST set:  .venv/bin/python bench/signing.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bbc import config  # noqa: E402
from bbc.adapters.docker.engine import DockerEngine  # noqa: E402
from bbc.commands import release as release_cmd  # noqa: E402
from bbc.plan.steps import Selection  # noqa: E402
from bbc.release.signing import keys  # noqa: E402
from bbc.run.options import RunOptions  # noqa: E402
from tests.commands.test_verify import Counting  # noqa: E402
from tests.registry_server import RegistryServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "localhost:5000/acme"


def _tag_into(prefix: str) -> None:
    import docker

    client = docker.from_env()
    for row in client.api.images():
        for tag in row.get("RepoTags") or ():
            if tag.startswith(REGISTRY + "/"):
                repository, _, name = tag.rpartition(":")
                client.api.tag(row["Id"], prefix + repository[len(REGISTRY):], name)


def _release(root: Path, server: RegistryServer, signed: bool) -> tuple[float, Counter[str], int]:
    text = (root / "bbc.yaml").read_text()
    marker = "\nsigning:\n  key: keys/bbc.key\n  public_keys: [keys/bbc.pub]\n"
    (root / "bbc.yaml").write_text(text.replace(marker, "") + (marker if signed else ""))
    reg = Counting(server.addr)
    hierarchy = config.load_hierarchy(root / "bbc.yaml")
    start = time.monotonic()
    code = release_cmd.release(hierarchy, DockerEngine(), Selection(), RunOptions(jobs=2), test=False, registry=reg)
    took = time.monotonic() - start
    if code != 0:
        raise SystemExit(f"release failed ({code})")
    return took, Counter(method for method, _ in reg.sent), len(reg.sent)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bbc-bench-signing-") as tmp:
        server = RegistryServer(Path(tmp) / "registry")
        server.start()
        prefix = f"{server.addr}/acme"
        root = Path(tmp) / "example"
        try:
            shutil.copytree(ROOT, root, symlinks=True,
                            ignore=_not_copied)
            keys.generate(root / "keys")
            (root / "bbc.yaml").write_text((root / "bbc.yaml").read_text().replace(
                f"registry: {REGISTRY}", f"registry: {prefix}"))
            _tag_into(prefix)
            rows: list[tuple[str, float, Counter[str], int]] = []
            for name, signed in (("unsigned", False), ("sign", True), ("again", True), ("unsigned-again", False)):
                took, methods, total = _release(root, server, signed)
                rows.append((name, took, methods, total))
            print(f"\n{'run':<16}{'seconds':>9}{'requests':>10}  by method", file=sys.stderr)
            for name, took, methods, total in rows:
                print(f"{name:<16}{took:>9.2f}{total:>10}  {dict(sorted(methods.items()))}", file=sys.stderr)
        finally:
            server.stop()
            _untag(prefix)


def _untag(prefix: str) -> None:
    import docker

    client: Any = docker.from_env()
    for row in client.api.images():
        for tag in row.get("RepoTags") or ():
            if tag.startswith(prefix + "/"):
                client.api.remove_image(tag)


def _not_copied(folder: str, names: list[str]) -> list[str]:
    """What a copy of the example leaves out: the checkout's own tools and tests, not images' tests."""
    return [n for n in names if n == "__pycache__" or folder == str(ROOT) and n in (".venv", ".git", "bench", "tests")]


if __name__ == "__main__":
    main()
