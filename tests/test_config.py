from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bbc import config
from bbc.errors import ConfigError
from tests.helpers import write

CHILD = "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    write(tmp_path / "r/Dockerfile", "FROM scratch\n")
    write(tmp_path / "py/Dockerfile", CHILD)
    write(tmp_path / "ml/Dockerfile", CHILD)
    write(tmp_path / "ml/Dockerfile.other", CHILD)
    write(tmp_path / "base/Dockerfile", "ARG BASE_IMAGE\nFROM $BASE_IMAGE AS build\nFROM scratch\n")
    write(tmp_path / "nofrom/Dockerfile", "FROM scratch\nCOPY . /\n")
    return tmp_path


GOOD = """\
registry: localhost:5000/acme
defaults:
  network: host
  labels: {team: platform}
images:
  root: {path: r, version: 1.0.0}
  python:
    path: py
    parent: root
    version: "1.10.0"
    build_args: {PY: 3.10}
  ml:
    path: ml
    parent: python
    version: 0.1.0-rc.1
    labels: {kind: ml}
"""


def load(repo: Path, text: str) -> config.Config:
    write(repo / "bbc.yaml", text)
    return config.load(repo / "bbc.yaml")


def test_good_config_is_parsed_with_defaults_merged(repo: Path) -> None:
    cfg = load(repo, GOOD)
    assert list(cfg.images) == ["root", "python", "ml"]
    py = cfg.images["python"]
    assert py.version == "1.10.0"
    assert py.build_args == {"PY": "3.10"}  # source text kept: not the float 3.1
    assert py.parent == "root" and py.parent_arg == "SOURCE_IMAGE" and py.network == "host"
    assert cfg.images["ml"].labels == {"team": "platform", "kind": "ml"}
    assert cfg.images["root"].path == (repo / "r").resolve()
    assert cfg.ref("ml") == "localhost:5000/acme/ml"


def test_parent_arg_lets_existing_dockerfiles_adopt_bbc(repo: Path) -> None:
    cfg = load(repo, GOOD.replace("path: ml\n", "path: base\n    parent_arg: BASE_IMAGE\n"))
    assert cfg.images["ml"].parent_arg == "BASE_IMAGE"


def test_engines_are_urls_or_contexts_with_jobs(repo: Path) -> None:
    cfg = load(repo, GOOD + "engines:\n  - unix:///a.sock\n  - {host: tcp://b:2376, jobs: 3}\n  - ci-builder\n")
    assert [(e.host, e.jobs) for e in cfg.engines] == [("unix:///a.sock", 1), ("tcp://b:2376", 3), ("ci-builder", 1)]
    with pytest.raises(ConfigError) as info:
        load(repo, GOOD + "engines:\n  - unix:///a.sock\n  - {host: unix:///a.sock, jobs: 0}\n  - {jobs: 2}\n")
    assert info.value.problems == [
        "bbc.yaml:17: engines: unix:///a.sock is listed twice",
        "bbc.yaml:19: engines.1.jobs: must be a whole number from 1 to 64, not 0",
        "bbc.yaml:20: engines.2: missing required key 'host'",
    ]


def test_engines_declare_their_platforms(repo: Path) -> None:
    cfg = load(repo, GOOD + "engines:\n  - unix:///a.sock\n  - {host: tcp://arm:2376, platforms: [linux/arm64]}\n")
    assert [(e.host, e.platforms) for e in cfg.engines] == [("unix:///a.sock", ()), ("tcp://arm:2376", ("linux/arm64",))]
    with pytest.raises(ConfigError) as info:
        load(repo, GOOD + "engines:\n  - {host: tcp://a:2376, platforms: [arm64, linux/arm64, linux/arm64]}\n"
                          "  - {host: tcp://b:2376, platforms: []}\n  - {host: tcp://c:2376, platforms: {a: 1}}\n")
    assert info.value.problems == [
        "bbc.yaml:18: engines.0.platforms.0: 'arm64' is not a platform: os/arch or os/arch/variant, "
        "e.g. [linux/arm64] or [linux/amd64, linux/arm/v7]",
        "bbc.yaml:18: engines.0.platforms.2: linux/arm64 is listed twice",
        "bbc.yaml:19: engines.1.platforms: must list at least one platform, e.g. [linux/arm64] or "
        "[linux/amd64, linux/arm/v7]",
        "bbc.yaml:20: engines.2.platforms: must be a list of strings, not a mapping",
    ]


def test_ci_runners_per_platform(repo: Path) -> None:
    cfg = load(repo, GOOD + "ci:\n  runners:\n    linux/arm64: {github: ubuntu-24.04-arm, gitlab: [arm64, docker]}\n"
                            "    linux/amd64: {github: [self-hosted, x64]}\n")
    assert cfg.ci.runners["linux/arm64"].github == ("ubuntu-24.04-arm",)
    assert cfg.ci.runners["linux/arm64"].gitlab == ("arm64", "docker")
    assert cfg.ci.runners["linux/amd64"].github == ("self-hosted", "x64") and cfg.ci.runners["linux/amd64"].gitlab == ()
    with pytest.raises(ConfigError) as info:
        load(repo, GOOD + "ci:\n  runners:\n    arm64: {github: x}\n    linux/arm64: {gitlab: [], githb: y}\n"
                          "  runner: {}\n")
    assert info.value.problems == [
        "bbc.yaml:19: ci.runners.arm64: 'arm64' is not a platform: os/arch or os/arch/variant, e.g. linux/arm64",
        "bbc.yaml:20: ci.runners.linux/arm64.githb: unknown key (did you mean 'github'?); allowed: github, gitlab",
        "bbc.yaml:20: ci.runners.linux/arm64.gitlab: must name a runner label (or a list of them), not an empty value",
        "bbc.yaml:21: ci.runner: unknown key (did you mean 'runners'?); allowed: runners",
    ]


def test_parent_ref_names_a_parent_written_out_in_a_from_line(repo: Path) -> None:
    write(repo / "fixed/Dockerfile", "FROM acme/python:1.10 AS build\nFROM acme/python:1.10\n")
    cfg = load(repo, GOOD.replace("path: ml\n", "path: fixed\n    parent_ref: acme/python:1.10\n"))
    assert cfg.images["ml"].parent_ref == "acme/python:1.10" and cfg.images["python"].parent_ref is None


BAD = [
    ("syntax", "registry: x\nimages:\n  a: [unclosed\n",
     ["bbc.yaml:4: invalid YAML: did not find expected ',' or ']'"]),
    ("duplicate key", GOOD.replace("  ml:\n", "  python:\n"),
     ["bbc.yaml:12: images.python: duplicate key (first set on line 7); YAML would silently keep only the last one"]),
    ("unknown key", GOOD.replace("    parent: root\n", "    parnet: root\n"),
     ["bbc.yaml:9: images.python.parnet: unknown key (did you mean 'parent'?); allowed: path, parent, version, "
      "dockerfile, target, build_args, parent_arg, parent_ref, labels, watch, platform, platforms, network, prepare, test, "
      "cascade, "
      "description, owner, secrets, uses"]),
    ("unknown top key", GOOD.replace("registry:", "registy:"),
     ["bbc.yaml:1: registy: unknown key (did you mean 'registry'?); allowed: registry, defaults, images, projects, "
      "policy, engines, signing, mirrors, mirrors_only, ci",
      "bbc.yaml:1: missing required key 'registry'"]),
    ("wrong type", GOOD.replace("build_args: {PY: 3.10}", "build_args: [PY]"),
     ["bbc.yaml:11: images.python.build_args: must be a mapping of names to strings, not a list"]),
    ("invalid semver", GOOD.replace('"1.10.0"', "1.10"),
     ["bbc.yaml:10: images.python.version: '1.10' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)"]),
    ("unknown parent", GOOD.replace("parent: python", "parent: pyhton"),
     ["bbc.yaml:14: images.ml.parent: unknown image 'pyhton' (did you mean 'python'?)"]),
    ("cycle", GOOD.replace("root: {path: r, version: 1.0.0}", "root: {path: r, version: 1.0.0, parent: ml}"),
     ["bbc.yaml:6: images.root.path: r/Dockerfile never uses ${SOURCE_IMAGE} in a FROM line, so the parent 'ml' "
      "would be ignored; start it with `ARG SOURCE_IMAGE` / `FROM ${SOURCE_IMAGE}` (or set parent_arg, or "
      "parent_ref to the reference its FROM names the parent with)",
      "bbc.yaml:6: images.root.parent: cycle in the hierarchy: root -> ml -> python -> root"]),
    ("missing path", GOOD.replace("path: ml", "path: nope"),
     ["bbc.yaml:13: images.ml.path: folder 'nope' does not exist"]),
    ("missing dockerfile", GOOD.replace("path: ml", "path: ml\n    dockerfile: Dockerfile.missing"),
     ["bbc.yaml:14: images.ml.dockerfile: no Dockerfile at 'ml/Dockerfile.missing'"]),
    ("parent arg unused", GOOD.replace("path: ml", "path: nofrom"),
     ["bbc.yaml:13: images.ml.path: nofrom/Dockerfile never uses ${SOURCE_IMAGE} in a FROM line, so the parent "
      "'python' would be ignored; start it with `ARG SOURCE_IMAGE` / `FROM ${SOURCE_IMAGE}` (or set parent_arg, or "
      "parent_ref to the reference its FROM names the parent with)"]),
    ("parent_ref no FROM names it", GOOD.replace("path: ml", "path: nofrom\n    parent_ref: acme/python:1"),
     ["bbc.yaml:14: images.ml.parent_ref: no FROM line of nofrom/Dockerfile names 'acme/python:1' (written exactly "
      "as in the Dockerfile)"]),
    ("parent_ref and parent_arg", GOOD.replace("path: ml", "path: ml\n    parent_arg: X\n    parent_ref: a/b"),
     ["bbc.yaml:15: images.ml.parent_ref: set parent_arg or parent_ref, not both: the parent reaches the Dockerfile "
      "through one of them",
      "bbc.yaml:15: images.ml.parent_ref: no FROM line of ml/Dockerfile names 'a/b' (written exactly as in the "
      "Dockerfile)"]),
    ("parent_ref on a root", GOOD.replace("root: {path: r, version: 1.0.0}", "root: {path: r, version: 1.0.0, parent_ref: x}"),
     ["bbc.yaml:6: images.root.parent_ref: names how the Dockerfile refers to its parent, but the image has no parent"]),
    ("same build twice", GOOD.replace("path: ml", "path: py"),
     ["bbc.yaml:12: images.ml: same build as 'python' (context 'py', Dockerfile 'Dockerfile', target (final)); "
      "give it its own folder, Dockerfile or target"]),
    ("bad network", GOOD.replace("network: host", "network: bridged"),
     ["bbc.yaml:3: defaults.network: 'bridged' is not one of host, none, default"]),
    ("missing version", GOOD.replace("    version: 0.1.0-rc.1\n", ""),
     ["bbc.yaml:12: images.ml: missing required key 'version'"]),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_gives_located_messages(repo: Path, text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load(repo, text)
    assert info.value.problems == expected


def test_empty_file(repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(repo, "")
    assert info.value.problems == ["bbc.yaml:1: empty file; it needs 'registry' and 'images'"]


def test_find_config_walks_up(repo: Path) -> None:
    write(repo / "bbc.yaml", GOOD)
    assert config.find_config(repo / "ml") == (repo / "bbc.yaml").resolve()


def test_find_config_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config.find_config(tmp_path)
    assert f"no bbc.yaml in {tmp_path.resolve()}" in info.value.problems[0]


def test_test_and_prepare_sections(repo: Path) -> None:
    write(repo / "r/tests/check.sh", "true\n")
    write(repo / "r/Dockerfile.test", CHILD)
    cfg = load(repo, GOOD.replace(
        "root: {path: r, version: 1.0.0}",
        textwrap.dedent("""\
        root:
            path: r
            version: 1.0.0
            prepare: {command: ./make.sh, inputs: [make.sh], outputs: [rootfs.tar], refresh: true}
            test:
              layer: Dockerfile.test
              command: "sh /t/check.sh"
              mounts: {tests: /t}
              timeout: 30
              expect: {user: non-root, files: [/etc/passwd]}
        """).replace("\n", "\n  ").rstrip(),
    ))
    root = cfg.images["root"]
    assert root.prepare == config.PrepareSpec("./make.sh", ("make.sh",), ("rootfs.tar",), refresh=True)
    assert root.test is not None
    assert root.test.command == ("/bin/sh", "-c", "sh /t/check.sh")
    assert root.test.mounts == {"tests": "/t"} and root.test.timeout == 30 and root.test.network == "none"
    assert root.test.expect == config.Expect("non-root", ("/etc/passwd",), ())


def test_prepare_refresh_is_a_boolean(repo: Path) -> None:
    with pytest.raises(ConfigError, match=r"images.root.prepare.refresh: must be true or false, not a string"):
        load(repo, GOOD.replace("root: {path: r, version: 1.0.0}", "root: {path: r, version: 1.0.0, prepare: "
                                "{command: ./m.sh, outputs: [o], refresh: sometimes}}"))


def test_skip_must_name_an_ancestor(repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(repo, GOOD.replace("labels: {kind: ml}", "labels: {kind: ml}\n    test: {skip: [rooot]}"))
    assert info.value.problems == [
        "bbc.yaml:17: images.ml.test.skip: 'rooot' is not an ancestor of 'ml'; only inherited tests can be skipped"
    ]


def test_the_validated_config_is_reused_until_a_file_it_read_changes(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from bbc import config as config_mod
    from bbc.config import yamlnodes
    from tests.helpers import tiny_hierarchy

    path = tiny_hierarchy(tmp_path)
    first = config_mod.load(path)
    # every file was written a moment ago: within the timestamp granularity a same-size rewrite
    # would keep its mtime, so nothing is cached yet (git's "racy" entries)
    assert not list((tmp_path / ".bbc/cache").glob("bbc-config-*.pickle"))
    old = time.time() - 60
    for p in [tmp_path, *tmp_path.rglob("*")]:
        os.utime(p, (old, old))
    assert config_mod.load(path) == first
    assert len(list((tmp_path / ".bbc/cache").glob("bbc-config-*.pickle"))) == 1

    def no_parse(text: str) -> None:
        raise AssertionError("parsed again although nothing changed")

    with monkeypatch.context() as m:
        m.setattr(yamlnodes, "load", no_parse)
        assert config_mod.load(path) == first  # from the cache, without the YAML parser
    dockerfile = tmp_path / "images/app/a1/Dockerfile"
    dockerfile.write_text("FROM scratch\n")  # no longer uses SOURCE_IMAGE: the cached result must not hide it
    with pytest.raises(ConfigError, match="never uses"):
        config_mod.load(path)
    dockerfile.write_text("ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")
    assert config_mod.load(path).images["a1"].parent == "mid"
    shutil.rmtree(tmp_path / "images/app/b1")
    with pytest.raises(ConfigError, match="folder 'images/app/b1' does not exist"):
        config_mod.load(path)
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.0.1", 1))  # other text: parsed again
    with monkeypatch.context() as m:
        m.setattr(yamlnodes, "load", no_parse)
        with pytest.raises(AssertionError, match="parsed again"):
            config_mod.load(path)


def test_secrets_and_the_signature_gates_are_validated_where_written(tmp_path: Path) -> None:
    """issue 23: `secrets:` ids and sources, signed_parents needing public keys, trusted_bases' files."""
    root = tmp_path / "repo"
    write(root / "images/a/Dockerfile", "FROM scratch\n")
    write(root / "bbc.yaml", """\
registry: localhost:5000/acme
images:
  a:
    path: images/a
    version: 1.0.0
    build_args: {TOKEN: x}
    secrets: {TOKEN: env:TOKEN, "bad id": x, pip: "env:1X"}
policy:
  signed_parents: error
  trusted_bases: {upstream.example/: [keys/none.pub]}
""")
    with pytest.raises(ConfigError) as info:
        config.load(root / "bbc.yaml")
    problems = info.value.problems
    assert "bbc.yaml:7: images.a.secrets.bad id: a secret id is letters, digits and . _ - (the id= of RUN " \
           "--mount=type=secret)" in problems
    assert "bbc.yaml:7: images.a.secrets.pip: 'env:1X': env: takes an environment variable name, e.g. env:PYPI_TOKEN" \
        in problems
    assert any(p.startswith("bbc.yaml:7: images.a.secrets: TOKEN: also a build arg") for p in problems), problems
    assert any(p.startswith("bbc.yaml:9: policy.signed_parents: verifies with signing.public_keys") for p in problems)
    assert any("policy.trusted_bases.upstream.example/.0: keys/none.pub: no such file" in p for p in problems), problems
