from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from bbc.errors import BbcError
from bbc.config.yamledit import set_versions

CONFIG = """\
# bbc.yaml - the blessed images of ACME
registry: localhost:5000/acme   # pushed here

images:
  # the root of everything
  base:
    context: images/base
    version: 1.4.2        # bumped by bbc release
  python:
    parent: base
    version: '3.0.1'
    tests: [tests/python]
  web: {parent: python, context: images/web, version: "0.3.0"}   # flow map
  ml:
    parent: python

    version:   2.0.0
    labels:
      team: data
"""


def write(tmp_path: Path, text: str, mode: int = 0o644) -> Path:
    path = tmp_path / "bbc.yaml"
    path.write_bytes(text.encode())
    path.chmod(mode)
    return path


def test_rewrites_only_the_values_in_their_quote_style(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    set_versions(path, {"base": "1.5.0", "python": "3.0.2", "web": "0.4.0", "ml": "2.0.1"})
    assert path.read_bytes().decode() == (
        CONFIG.replace("version: 1.4.2  ", "version: 1.5.0  ")
        .replace("version: '3.0.1'", "version: '3.0.2'")
        .replace('version: "0.3.0"', 'version: "0.4.0"')
        .replace("version:   2.0.0", "version:   2.0.1")
    )
    data = yaml.safe_load(path.read_text())
    assert {k: v["version"] for k, v in data["images"].items()} == {
        "base": "1.5.0",
        "python": "3.0.2",
        "web": "0.4.0",
        "ml": "2.0.1",
    }


def test_returns_unified_diff(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    diff = set_versions(path, {"python": "3.1.0"})
    assert diff == (
        "--- a/bbc.yaml\n"
        "+++ b/bbc.yaml\n"
        "@@ -8,7 +8,7 @@\n"
        "     version: 1.4.2        # bumped by bbc release\n"
        "   python:\n"
        "     parent: base\n"
        "-    version: '3.0.1'\n"
        "+    version: '3.1.0'\n"
        "     tests: [tests/python]\n"
        '   web: {parent: python, context: images/web, version: "0.3.0"}   # flow map\n'
        "   ml:\n"
    )


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    before = path.stat()
    diff = set_versions(path, {"web": "1.0.0"}, dry_run=True)
    assert '+  web: {parent: python, context: images/web, version: "1.0.0"}   # flow map\n' in diff
    assert path.read_bytes() == CONFIG.encode()
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["bbc.yaml"]


def test_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG, mode=0o640)
    set_versions(path, {"base": "2.0.0"})
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["bbc.yaml"]


def test_unchanged_value_gives_empty_diff_and_no_write(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    before = path.stat().st_mtime_ns
    assert set_versions(path, {"base": "1.4.2"}) == ""
    assert path.stat().st_mtime_ns == before


def test_lf_file_stays_lf_and_crlf_file_stays_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    set_versions(path, {"ml": "2.1.0"})
    assert b"\r" not in path.read_bytes()

    crlf = CONFIG.replace("\n", "\r\n")
    path = write(tmp_path, crlf)
    set_versions(path, {"ml": "2.1.0"})
    assert path.read_bytes() == crlf.replace("version:   2.0.0", "version:   2.1.0").encode()


def test_plain_value_that_would_not_read_back_as_a_string_is_quoted(tmp_path: Path) -> None:
    path = write(tmp_path, "images:\n  base:\n    version: 1.0.0\n")
    set_versions(path, {"base": "1.10"})
    assert path.read_text() == 'images:\n  base:\n    version: "1.10"\n'
    assert yaml.safe_load(path.read_text())["images"]["base"]["version"] == "1.10"


def test_unknown_image_is_located_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    with pytest.raises(BbcError) as exc:
        set_versions(path, {"pyhton": "1.0.0"})
    assert str(exc.value) == f"{path}:4: images.pyhton: unknown image (did you mean 'python'?)"
    assert path.read_bytes() == CONFIG.encode()


def test_missing_version_key(tmp_path: Path) -> None:
    path = write(tmp_path, "images:\n  base:\n    context: .\n  app:\n    parent: base\n")
    with pytest.raises(BbcError) as exc:
        set_versions(path, {"app": "1.0.0"})
    assert str(exc.value) == f"{path}:4: images.app: no 'version' key to update"
    assert exc.value.tip == "add `version: 0.1.0` under images.app"


def test_no_images_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "registry: x\n")
    with pytest.raises(BbcError, match=r"bbc.yaml:1: no 'images' mapping at the top level"):
        set_versions(path, {"base": "1.0.0"})


def test_version_shared_through_anchor_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "images:\n  a:\n    version: &v 1.0.0\n  b:\n    version: *v\n",
    )
    with pytest.raises(BbcError) as exc:
        set_versions(path, {"a": "1.0.1", "b": "1.0.1"})
    assert str(exc.value) == (
        f"{path}:3: images.b.version: shared with images.a through a YAML anchor; edit it by hand"
    )
