"""Generate a synthetic image hierarchy for benchmarks.

    python bench/gen.py OUT --images N --depth D --fanout F [--roots R] [--tiny] [--registry R] [--salt S] [--adopt]

R busybox-static roots (`r`, `s`, ...) built FROM scratch, then children breadth-first (each
node gets up to F children) until there are N images or the trees are D levels below the roots. Every child
is `ARG SOURCE_IMAGE` / `FROM ${SOURCE_IMAGE}`, one COPY of a small data file and one cheap
RUN. Writes OUT/bbc.yaml and OUT/order.txt (`name parent path` per line, topological order,
parent `-` for the root) for the naive `docker build` loop.

--tiny: the root gets a placeholder instead of the 2 MB busybox binary; for graphs that are
only planned, never built (the 10,000-image plan benchmark).
--salt: written into the root's data file, so two generated trees never share fingerprints
or Docker layer cache (with each other, or with anyone else's on a shared engine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
ROOT_NAME = "r"
ROOT_NAMES = "rstuvwxyz"
VERSION = "1.0.0"

ROOT_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY data.txt /etc/bench/r.txt
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp"]
"""

CHILD_DOCKERFILE = """\
ARG SOURCE_IMAGE{default}
FROM ${{SOURCE_IMAGE}}
COPY data.txt /etc/bench/{name}.txt
RUN echo {name} > /etc/{name}
"""


@dataclass(frozen=True)
class Node:
    name: str
    parent: str | None
    depth: int


def tree(images: int, depth: int, fanout: int, roots: int = 1) -> list[Node]:
    """Breadth-first: the roots, their children r-1..r-F, s-1.., their children r-1-1.. and so on."""
    nodes = [Node(name, None, 0) for name in ROOT_NAMES[:roots]]
    frontier = deque(nodes)
    while frontier and len(nodes) < images:
        parent = frontier.popleft()
        if parent.depth >= depth:
            continue
        for i in range(1, fanout + 1):
            if len(nodes) >= images:
                break
            child = Node(f"{parent.name}-{i}", parent.name, parent.depth + 1)
            nodes.append(child)
            frontier.append(child)
    return nodes


def rel_path(name: str) -> str:
    return f"images/{name}"


def write(out: Path, nodes: list[Node], *, tiny: bool, registry: str, salt: str, adopt: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    yaml_lines = [f"registry: {registry}", "defaults:", "  network: host", "images:"]
    order_lines = []
    for node in nodes:
        folder = out / rel_path(node.name)
        folder.mkdir(parents=True, exist_ok=True)
        if node.parent is None:
            (folder / "Dockerfile").write_text(ROOT_DOCKERFILE)
            if tiny:
                (folder / "busybox").write_text("placeholder: --tiny graphs are planned, never built\n")
            else:
                shutil.copyfile(BUSYBOX, folder / "busybox")
                os.chmod(folder / "busybox", 0o755)
            (folder / "data.txt").write_text(f"{node.name}\nsalt {salt}\n")
        else:
            default = f"={registry}/{node.parent}:{VERSION}" if adopt else ""
            (folder / "Dockerfile").write_text(CHILD_DOCKERFILE.format(name=node.name, default=default))
            (folder / "data.txt").write_text(f"{node.name}\n")
        yaml_lines += [f"  {node.name}:", f"    path: {rel_path(node.name)}", f"    version: {VERSION}"]
        if node.parent is not None:
            yaml_lines.append(f"    parent: {node.parent}")
        order_lines.append(f"{node.name} {node.parent or '-'} {rel_path(node.name)}")
    # --adopt: a tree without bbc.yaml for `bbc init` (the file gen would write is hand.yaml)
    (out / ("hand.yaml" if adopt else "bbc.yaml")).write_text("\n".join(yaml_lines) + "\n")
    (out / "order.txt").write_text("\n".join(order_lines) + "\n")


def set_salt(out: Path, salt: str) -> None:
    """Change the roots' data files: every image of the tree gets a new fingerprint and cache key."""
    for name in ROOT_NAMES:
        data = out / rel_path(name) / "data.txt"
        if data.exists():
            data.write_text(f"{name}\nsalt {salt}\n")


def read_order(out: Path) -> list[tuple[str, str | None, Path]]:
    rows = []
    for line in (out / "order.txt").read_text().splitlines():
        name, parent, rel = line.split()
        rows.append((name, None if parent == "-" else parent, out / rel))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=int, required=True)
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--fanout", type=int, required=True)
    parser.add_argument("--roots", type=int, default=1, help=f"roots (1 to {len(ROOT_NAMES)})")
    parser.add_argument("--tiny", action="store_true", help="no busybox binary in the root (plan-only graphs)")
    parser.add_argument("--registry", default="localhost:5000/bench")
    parser.add_argument("--salt", default="0")
    parser.add_argument("--adopt", action="store_true",
                        help="children name their parent in an ARG default; hand.yaml instead of bbc.yaml (bbc init)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.depth < 0 or args.fanout < 1:
        parser.error("--images >= 1, --depth >= 0, --fanout >= 1")
    if not args.tiny and not BUSYBOX.is_file():
        parser.error(f"{BUSYBOX} not found; install busybox-static or pass --tiny")
    start = time.perf_counter()
    if not 1 <= args.roots <= len(ROOT_NAMES):
        parser.error(f"--roots from 1 to {len(ROOT_NAMES)}")
    nodes = tree(args.images, args.depth, args.fanout, args.roots)
    write(args.out, nodes, tiny=args.tiny, registry=args.registry, salt=args.salt, adopt=args.adopt)
    took = time.perf_counter() - start
    deepest = max(n.depth for n in nodes)
    print(f"{args.out}: {len(nodes)} images, depth {deepest}, in {took:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
