"""Build-time SBOMs read each layer once (issue 24): from the layer cache by diff ID, else from
the engine's storage one layer at a time, else through the export. Against the real engine: the
same contents and the same SBOM as reading every image's whole export with nothing cached, a
child reads only its own layers, and a stored layer that is not what its diff ID says is never
used."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bbc.adapters.docker.engine import DockerEngine, connect
from bbc.inside import layercache, layers, layerscan, ownership, sbom, storage
from tests.cli import bbc, ok
from tests.conftest import busybox_context
from tests.helpers import remove_images, write

pytestmark = pytest.mark.docker
SITE = "/opt/venv/lib/python3.11/site-packages"
KEY = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END " + "OPENSSH PRIVATE KEY-----"
LONG = "/srv/" + "a-folder-name-well-past-the-hundred-bytes-a-plain-tar-header-holds/" * 2 + "METADATA-like.txt"


def make(root: Path, registry: str) -> None:
    """base (busybox, a dpkg status, numpy 1.26) -> mid (whiteouts, an opaque folder, a hard
    link, a symlink, a long and a non-UTF-8 file name, a secret) -> app (numpy 2.0, a cache)."""
    ctx = busybox_context(root / "images/base")
    write(ctx / "status", "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\n")
    write(ctx / "os-release", 'ID=debian\nVERSION_ID="12"\n')
    write(ctx / "site/numpy-1.26.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.0\n")
    write(ctx / "site/six-1.16.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n")
    with open(ctx / "Dockerfile", "a") as f:
        f.write(f"COPY status /var/lib/dpkg/status\nCOPY os-release /etc/os-release\nCOPY site/ {SITE}/\n")
    write(root / "images/mid/Dockerfile", f"""\
        ARG SOURCE_IMAGE
        FROM ${{SOURCE_IMAGE}}
        USER 0
        RUN rm -rf {SITE}/six-1.16.0.dist-info && rm -rf /var/lib/dpkg && mkdir -p /var/lib/dpkg/status.d && \\
            printf 'Package: tzdata\\nVersion: 2024a\\n' > /var/lib/dpkg/status.d/tzdata
        RUN mkdir -p {LONG.rsplit('/', 1)[0]} && echo long > {LONG} && \\
            ln {SITE}/numpy-1.26.0.dist-info/METADATA /srv/hardlink && ln -s /etc/os-release /srv/symlink && \\
            echo odd > "/srv/$(printf 'bad\\377name')" && printf '{KEY}\\n' > /tmp/id_ed25519
        USER 1000
        """)
    write(root / "images/app/numpy-2.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: numpy\nVersion: 2.0.0\n")
    write(root / "images/app/Dockerfile", f"""\
        ARG SOURCE_IMAGE
        FROM ${{SOURCE_IMAGE}}
        USER 0
        RUN rm -rf {SITE}/numpy-1.26.0.dist-info /tmp/id_ed25519 && mkdir -p /root/.cache/pip && echo x > /root/.cache/pip/x
        COPY numpy-2.0.0.dist-info/ {SITE}/numpy-2.0.0.dist-info/
        USER 1000
        """)
    write(root / "bbc.yaml", textwrap.dedent(f"""\
        registry: {registry}
        defaults:
          network: host
        images:
          base:
            path: images/base
            version: 1.0.0
          mid:
            path: images/mid
            parent: base
            version: 1.0.0
          app:
            path: images/app
            parent: mid
            version: 1.0.0
        """))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, docker_client: Any, registry_addr: str) -> Iterator[Path]:
    prefix = f"{registry_addr}/lc{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("layercache") / "repo"
    make(root, prefix)
    ok(bbc(root, "build", "-j", "2"))
    yield root
    remove_images(docker_client, prefix)


@pytest.fixture()
def engine() -> DockerEngine:
    found = connect()
    if storage.of(found) is None:
        pytest.skip("the engine's storage cannot be read here (not dockerd on overlay2 on this machine, as root)")
    return found


def refs(root: Path) -> dict[str, str]:
    from bbc.config import load_hierarchy

    h = load_hierarchy(root / "bbc.yaml")
    return {name: ownership.built_ref(h, name) for name in h.order}


def whole_export(engine: DockerEngine, monkeypatch: pytest.MonkeyPatch, name: str, ref: str) -> ownership.Inside:
    """As bbc read images before the layer cache: the whole export, nothing cached."""
    with monkeypatch.context() as m:
        m.setattr(storage, "of", lambda engine: None)
        return ownership.of_build(engine, name, ref)


def document(inside: ownership.Inside) -> dict[str, Any]:
    doc = json.loads(sbom.render(inside, "1.0.0"))
    doc.pop("serialNumber")
    doc["metadata"].pop("timestamp")
    return doc


def test_one_layer_at_a_time_reads_what_the_whole_export_reads(tree: Path, engine: DockerEngine,
                                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    read: list[str] = []
    stored = storage.Store.layer
    monkeypatch.setattr(storage.Store, "layer", lambda self, stack: read.append(stack[-1]) or stored(self, stack))
    for name, ref in refs(tree).items():  # parents first, as builds finish
        cached = ownership.of_build(engine, name, ref, tmp_path)
        before = whole_export(engine, monkeypatch, name, ref)
        assert cached.content == before.content, name  # every layer: packages, whiteouts, secrets, sizes
        assert (cached.owners, cached.packages, cached.lineage) == (before.owners, before.packages, before.lineage)
        assert document(cached) == document(before), name
    mid = whole_export(engine, monkeypatch, "mid", refs(tree)["mid"]).content
    assert mid.layers[-2].opaque == ("/var/lib/dpkg",) and f"{SITE}/six-1.16.0.dist-info" in mid.layers[-2].deleted
    assert [h.kind for h in mid.layers[-1].secrets] == ["private key"]
    assert len(read) == len(set(read)) == len(mid.layers) + 2  # each layer once: app adds two of its own


def test_a_child_reads_only_its_own_layers_and_never_exports(tree: Path, engine: DockerEngine,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    read: list[str] = []
    stored = storage.Store.layer
    monkeypatch.setattr(storage.Store, "layer", lambda self, stack: read.append(stack[-1]) or stored(self, stack))
    monkeypatch.setattr(DockerEngine, "export", lambda self, ref: pytest.fail(f"exported {ref}"))
    found = refs(tree)
    base = layers.read(engine, found["base"], tmp_path)
    assert read == [l.diff_id for l in base.layers]
    read.clear()
    mid = layers.read(engine, found["mid"], tmp_path)
    assert read == [l.diff_id for l in mid.layers[len(base.layers):]] and len(read) == 2  # its two RUNs
    assert all(layercache.get(tmp_path, l.diff_id) is not None for l in mid.layers)
    read.clear()
    assert layers.read(engine, found["mid"], tmp_path) == mid and read == []  # read before: by image ID


def test_without_the_storage_the_export_only_hashes_the_layers_read_before(
        tree: Path, engine: DockerEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(storage, "of", lambda engine: None)
    scanned: list[int] = []
    scan = layerscan.scan
    monkeypatch.setattr(layerscan, "scan", lambda f: scanned.append(1) or scan(f))
    found = refs(tree)
    base = layers.read(engine, found["base"], tmp_path)
    scanned.clear()
    app = layers.read(engine, found["app"], tmp_path)  # mid was never read: its layers and app's are
    assert len(scanned) == len(app.layers) - len(base.layers)
    assert replace(app, layers=()) == replace(whole_export(engine, monkeypatch, "app", found["app"]).content, layers=())


def test_a_stored_layer_that_is_not_its_diff_id_is_never_used(tree: Path, engine: DockerEngine,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stored = storage.Store.layer

    def swapped(self: storage.Store, stack: list[str]) -> storage.LayerTar | None:
        right = stored(self, stack)  # the files of another layer under this diff ID
        other = stored(self, stack[:1]) if len(stack) > 1 else None
        return storage.LayerTar(right.diff_id, other.split, other.files) if right and other else right

    monkeypatch.setattr(storage.Store, "layer", swapped)
    exported: list[str] = []
    export = DockerEngine.export
    monkeypatch.setattr(DockerEngine, "export", lambda self, ref: exported.append(ref) or export(self, ref))
    found = refs(tree)
    mid = layers.read(engine, found["mid"], tmp_path)
    assert len(exported) == 1  # the storage was refused, the export read instead
    assert mid == whole_export(engine, monkeypatch, "mid", found["mid"]).content
