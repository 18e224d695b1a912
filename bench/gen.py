"""Generate a synthetic image hierarchy for benchmarks.

    python bench/gen.py OUT --images N --depth D --fanout F [--roots R] [--tiny] [--registry R] [--salt S] [--adopt]
                        [--uses FRACTION]

R busybox-static roots (`r`, `s`, ...) built FROM scratch, then children breadth-first (each
node gets up to F children) until there are N images or the trees are D levels below the roots. Every child
is `ARG SOURCE_IMAGE` / `FROM ${SOURCE_IMAGE}`, one COPY of a small data file and one cheap
RUN. Writes OUT/bbc.yaml and OUT/order.txt (`name parent path` per line, topological order,
parent `-` for the root) for the naive `docker build` loop.

--tiny: the root gets a placeholder instead of the 2 MB busybox binary; for graphs that are
only planned, never built (the 10,000-image plan benchmark).
--salt: written into the root's data file, so two generated trees never share fingerprints
or Docker layer cache (with each other, or with anyone else's on a shared engine).
--uses FRACTION: that share of the children (every 1/FRACTION-th, 0.2: a fifth) also use one
or, every other one, two earlier images of the tree that are not their ancestors (issue 21's
`uses:`): `ARG USED_1` / `FROM ${USED_1} AS used1` / `COPY --from=used1 ...`. order.txt then
gives each user a fourth field, `USED_1=img,USED_2=img`.
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


USER_DOCKERFILE = """\
ARG SOURCE_IMAGE{default}
{args}
{stages}
FROM ${{SOURCE_IMAGE}}
COPY data.txt /etc/bench/{name}.txt
{copies}
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


def uses_of(nodes: list[Node], fraction: float) -> dict[str, list[str]]:
    """Every 1/fraction-th child -> one (every other one: two) earlier images, not its ancestors."""
    if fraction <= 0:
        return {}
    every = max(1, round(1 / fraction))
    parents = {n.name: n.parent for n in nodes}
    out: dict[str, list[str]] = {}
    children = [i for i, n in enumerate(nodes) if n.parent is not None]
    for k, i in enumerate(children[every - 1::every]):
        lineage, up = set(), nodes[i].name
        while up is not None:
            lineage.add(up)
            up = parents[up]
        earlier = [n.name for n in nodes[:i] if n.name not in lineage]
        if earlier:
            wanted = 2 if k % 2 else 1
            out[nodes[i].name] = [earlier[(i * 7 + j * 13) % len(earlier)] for j in range(wanted)]
            out[nodes[i].name] = list(dict.fromkeys(out[nodes[i].name]))
    return out


def _user_dockerfile(node: Node, used: list[str], default: str) -> str:
    keys = [f"USED_{j}" for j in range(1, len(used) + 1)]
    return USER_DOCKERFILE.format(
        default=default, name=node.name, args="\n".join(f"ARG {k}" for k in keys),
        stages="\n".join(f"FROM ${{{k}}} AS used{j}" for j, k in enumerate(keys, 1)),
        copies="\n".join(f"COPY --from=used{j} /etc/bench/{u}.txt /etc/bench/{node.name}-uses-{u}.txt"
                         for j, u in enumerate(used, 1)))


def write(out: Path, nodes: list[Node], *, tiny: bool, registry: str, salt: str, adopt: bool = False,
          uses: float = 0.0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    yaml_lines = [f"registry: {registry}", "defaults:", "  network: host", "images:"]
    order_lines = []
    used = uses_of(nodes, uses)
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
            text = _user_dockerfile(node, used[node.name], default) if node.name in used else \
                CHILD_DOCKERFILE.format(name=node.name, default=default)
            (folder / "Dockerfile").write_text(text)
            (folder / "data.txt").write_text(f"{node.name}\n")
        yaml_lines += [f"  {node.name}:", f"    path: {rel_path(node.name)}", f"    version: {VERSION}"]
        if node.parent is not None:
            yaml_lines.append(f"    parent: {node.parent}")
        keys = {f"USED_{j}": u for j, u in enumerate(used.get(node.name, ()), 1)}
        if keys:
            yaml_lines.append("    uses: {" + ", ".join(f"{k}: {u}" for k, u in keys.items()) + "}")
        extra = " " + ",".join(f"{k}={u}" for k, u in keys.items()) if keys else ""
        order_lines.append(f"{node.name} {node.parent or '-'} {rel_path(node.name)}{extra}")
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
        name, parent, rel, *_ = line.split()  # a fourth field: the images it uses (--uses)
        rows.append((name, None if parent == "-" else parent, out / rel))
    return rows


def read_uses(out: Path) -> dict[str, dict[str, str]]:
    """image -> {build arg: used image}, for a tree written with --uses."""
    found = {}
    for line in (out / "order.txt").read_text().splitlines():
        name, _, _, *rest = line.split()
        if rest:
            found[name] = dict(pair.split("=", 1) for pair in rest[0].split(","))
    return found


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
    parser.add_argument("--uses", type=float, default=0.0, metavar="FRACTION",
                        help="that share of the children use one or two other images (uses:)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.depth < 0 or args.fanout < 1:
        parser.error("--images >= 1, --depth >= 0, --fanout >= 1")
    if not args.tiny and not BUSYBOX.is_file():
        parser.error(f"{BUSYBOX} not found; install busybox-static or pass --tiny")
    start = time.perf_counter()
    if not 1 <= args.roots <= len(ROOT_NAMES):
        parser.error(f"--roots from 1 to {len(ROOT_NAMES)}")
    nodes = tree(args.images, args.depth, args.fanout, args.roots)
    write(args.out, nodes, tiny=args.tiny, registry=args.registry, salt=args.salt, adopt=args.adopt, uses=args.uses)
    took = time.perf_counter() - start
    deepest = max(n.depth for n in nodes)
    print(f"{args.out}: {len(nodes)} images, depth {deepest}, in {took:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
