"""bbc/inside/layers.py and bbc/inside/ownership.py on synthetic `docker save` streams: the legacy layout
(Docker up to 24: `<id>/layer.tar`) and the OCI layout (Docker 25+: `blobs/sha256/…`), whiteouts
and opaque folders, egg-info files, and attribution across a lineage. The real engine's export
is tested in tests/test_sbom.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from bbc.inside import layers, ownership
from bbc.adapters.engine import ImageInfo
from bbc.model.labels import IMAGE, PARENT_ID
from tests.conftest import tar_bytes as tar


def dist(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()


SITE = "opt/venv/lib/python3.11/site-packages"
LAYERS = [
    ("ADD rootfs /", {"etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
                      "var/lib/dpkg/status": b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n"
                                             b"Architecture: amd64\n",
                      f"{SITE}/six-1.16.0.dist-info/METADATA": dist("six", "1.16.0"),
                      f"{SITE}/old.egg-info": dist("old", "0.1"),
                      "opt/junk/x/METADATA": b"not a dist"}),
    ("RUN pip install -U six && rm -rf /opt/venv/.../old.egg-info",
     {f"{SITE}/.wh.six-1.16.0.dist-info": b"", f"{SITE}/six-1.17.0.dist-info/METADATA": dist("six", "1.17.0"),
      f"{SITE}/.wh.old.egg-info": b""}),
    ("RUN rm -rf /var/lib/dpkg && reinstall", {"var/lib/dpkg/.wh..wh..opq": b"",
                                               "var/lib/dpkg/status.d/tzdata": b"Package: tzdata\nVersion: 2024a\n"}),
]


def export(layout: str) -> tuple[bytes, list[str]]:
    blobs = [tar(files) for _, files in LAYERS]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    config = json.dumps({"config": {"User": "app", "Labels": {"a": "b"}}, "rootfs": {"diff_ids": diff_ids},
                         "history": [{"created_by": "/bin/sh -c #(nop) WORKDIR /", "empty_layer": True}]
                         + [{"created_by": "/bin/sh -c " + step} for step, _ in LAYERS]}).encode()
    if layout == "legacy":
        names = [f"{i}abc/layer.tar" for i in range(len(blobs))]
        files = {"cafe.json": config, **dict(zip(names, blobs))}
        files["manifest.json"] = json.dumps([{"Config": "cafe.json", "Layers": names}]).encode()
    else:
        names = ["blobs/sha256/" + d.split(":")[1] for d in diff_ids]
        cfg = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
        files = {**dict(zip(names, blobs)), cfg: config}
        files["index.json"] = b'{"schemaVersion": 2, "manifests": []}'
        files["manifest.json"] = json.dumps([{"Config": cfg, "Layers": names}]).encode()
    return tar(files), diff_ids


class Exporting:
    """Just enough engine: inspect, diff_ids and export of a few synthetic images."""

    address = "synthetic://"

    def __init__(self) -> None:
        self.images: dict[str, tuple[ImageInfo, tuple[str, ...], bytes]] = {}

    def add(self, image_id: str, labels: dict[str, str], diff_ids: list[str], data: bytes = b"") -> None:
        self.images[image_id] = (ImageInfo(image_id, labels=labels), tuple(diff_ids), data)

    def inspect(self, ref: str) -> ImageInfo | None:
        found = self.images.get(ref)
        return found[0] if found else None

    def diff_ids(self, ref: str) -> tuple[str, ...]:
        return self.images[ref][1]

    def export(self, ref: str) -> Iterator[bytes]:
        data = self.images[ref][2]
        for i in range(0, len(data), 7000):  # chunks that cut through headers
            yield data[i:i + 7000]


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_both_export_layouts_read_the_same(layout: str) -> None:
    data, diff_ids = export(layout)
    engine = Exporting()
    engine.add("sha256:img", {}, diff_ids, data)
    content = layers.read(engine, "sha256:img")  # type: ignore[arg-type]
    assert [l.diff_id for l in content.layers] == diff_ids
    assert [l.created_by for l in content.layers] == [step for step, _ in LAYERS]  # empty layers skipped
    assert (content.user, content.labels, content.os_id, content.os_version) == ("app", {"a": "b"}, "debian", "12")
    first, second, third = content.layers
    assert sorted(first.sources) == ["/opt/venv/lib/python3.11/site-packages/old.egg-info",
                                     "/opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info",
                                     "/var/lib/dpkg/status"]
    assert set(second.deleted) == {f"/{SITE}/six-1.16.0.dist-info", f"/{SITE}/old.egg-info"}
    assert third.opaque == ("/var/lib/dpkg",)


def test_attribution_over_a_lineage_follows_upgrades_whiteouts_and_opaque_folders() -> None:
    data, diff_ids = export("legacy")
    engine = Exporting()
    engine.add("sha256:root", {IMAGE: "root"}, diff_ids[:1])
    engine.add("sha256:mid", {IMAGE: "mid", PARENT_ID: "sha256:root"}, diff_ids[:2])
    engine.add("sha256:app", {IMAGE: "app", PARENT_ID: "sha256:mid"}, diff_ids, data)
    inside = ownership.of_build(engine, "app", "sha256:app")  # type: ignore[arg-type]
    assert inside.owners == ("root", "mid", "app")
    got = {o.package.name: (o.package.version, o.image, o.layer, o.replaces) for o in inside.packages}
    # zlib1g's status file was hidden by the opaque /var/lib/dpkg; tzdata came with status.d
    assert got == {"six": ("1.17.0", "mid", 1, "1.16.0"), "tzdata": ("2024a", "app", 2, "")}
