"""bbc.yaml's `owner` and the issue-13 policy gates, validated with located messages; the
secret patterns (no engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bbc.inside import secrets
from bbc.errors import ConfigError
from tests.conftest import busybox_context
from tests.test_config import GOOD, load, repo  # noqa: F401  (the fixture)


def test_owner_and_policy_gates_are_parsed(repo: Path) -> None:  # noqa: F811
    cfg = load(repo, GOOD.replace("  network: host\n", "  network: host\n  owner: platform\n")
               .replace("    labels: {kind: ml}\n", "    labels: {kind: ml}\n    owner: ml-team\n")
               + "policy:\n  non_root: true\n  no_secrets: true\n  no_package_caches: false\n"
               "  max_own_size: 300MB\n  max_size: 1.5GiB\n  required_labels: [team]\n  pinned_bases: error\n")
    assert cfg.images["ml"].owner == "ml-team" and cfg.images["root"].owner == "platform"
    p = cfg.policy
    assert (p.non_root, p.no_secrets, p.no_package_caches) == (True, True, False)
    assert p.max_own_size == 300_000_000 and p.max_size == int(1.5 * 1024**3)
    assert p.required_labels == ("team",) and p.pinned_bases == "error"


def test_bad_policy_values_are_located(repo: Path) -> None:  # noqa: F811
    with pytest.raises(ConfigError) as info:
        load(repo, GOOD + "policy:\n  non_root: yes please\n  max_size: huge\n  no_secret: true\n")
    problems = "\n".join(info.value.problems)
    assert "bbc.yaml:20: policy.no_secret: unknown key (did you mean 'no_secrets'?)" in problems
    assert "bbc.yaml:18: policy.non_root: must be true or false, not 'yes please'" in problems
    assert "bbc.yaml:19: policy.max_size: must be a size like 300MB, 1.5GB or a number of bytes, not 'huge'" in problems


def test_secret_patterns() -> None:
    key = b"-----BEGIN " + b"RSA PRIVATE KEY-----\nMIIE"
    assert secrets.find("/k", key) == [secrets.Hit("/k", "private key")]
    assert [h.kind for h in secrets.find("/e", b"AWS_ACCESS_KEY_ID=AKIA" + b"ABCDEFGHIJKLMNOP\n")] == ["AWS access key"]
    assert [h.kind for h in secrets.find("/t", b"token=ghp_" + b"a" * 36)] == ["GitHub token"]
    auth = b'{"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNzd29yZA=="}}}'
    assert [h.kind for h in secrets.find("/root/.docker/config.json", auth)] == ["registry credentials"]
    assert secrets.find("/x", b"PRIVATE KEY is a phrase; AKIA alone; ghp_short") == []
    # every pattern's prefixes pass the one-pass prefilter (else its secrets would go unseen),
    # and text without any is let go before the patterns run
    for kind, prefixes, _ in secrets.PATTERNS:
        for prefix in prefixes:
            assert secrets._ANY.search(b"..." + prefix + b"..."), (kind, prefix)
    assert secrets._ANY.search(b"PRIVATE KEY ASI gh_p xox- npm pypi-Ag auths") is None


def test_size_budgets_and_required_labels_name_the_largest_own_layer(tmp_path: Path) -> None:
    import dataclasses

    from bbc.inside import policy
    from bbc.model.hierarchy import Hierarchy
    from bbc.inside.layers import Content, Layer
    from bbc.model.specs import Policy
    from bbc.inside.ownership import Inside

    write_tree = GOOD + "policy:\n  max_own_size: 2MB\n  max_size: 3MB\n  required_labels: [team, owner.mail]\n"
    (tmp_path / "r").mkdir()
    for folder, text in (("r", "FROM scratch\n"), ("py", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n"),
                         ("ml", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\n")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "Dockerfile").write_text(text)
    cfg = load(tmp_path, write_tree)
    assert cfg.policy == dataclasses.replace(Policy(), max_own_size=2_000_000, max_size=3_000_000,
                                             required_labels=("team", "owner.mail"))
    h = Hierarchy.of(cfg)
    content = Content("sha256:x", "1000", {"team": "platform"}, (
        Layer("sha256:a", "ADD rootfs /", 1_500_000), Layer("sha256:b", "RUN pip install numpy", 1_800_000),
        Layer("sha256:c", "COPY app.py /", 400_000)))
    inside = Inside("python", "x", content, (), ("root", "python", "python"), ())
    got = [str(v) for v in policy.check(h, inside)]
    assert got == [
        "python: policy.max_own_size: own layers are 2.2 MB, over 2.0 MB; largest: layer 1 (RUN pip install numpy), "
        "1.8 MB, in py/Dockerfile",
        "python: policy.max_size: the image is 3.7 MB, over 3.0 MB (2.2 MB in its own layers, py/Dockerfile)",
        "python: policy.required_labels: image config: no label owner.mail "
        "(set it in bbc.yaml images.python.labels or defaults.labels)",
    ]


def test_secrets_in_the_image_config_and_history_are_found_without_their_values() -> None:
    step = "RUN |3 USERNAME=bob PASSWORD=hunter2 GITHUB_TOKEN=ghp_" + "a" * 36 + " /bin/sh -c make"
    assert secrets.in_build_record(step) == ["GitHub token", "PASSWORD set to a value", "GITHUB_TOKEN set to a value"]
    assert secrets.in_build_record("ENV DB_PASSWORD_FILE=/run/secrets/db GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D") == []
    assert secrets.in_build_record("RUN |1 TOKEN= /bin/sh -c make") == []  # declared, given no value
    assert secrets.in_build_record("ENV API_KEY=$API_KEY") == []  # a reference, not a value


@pytest.mark.docker
def test_a_token_passed_as_a_build_arg_is_refused_at_release(tmp_path: Path, server: Any, docker_client: Any) -> None:
    import json
    import uuid

    from tests.cli import bbc
    from tests.helpers import remove_images, write

    prefix = f"{server.addr}/p{uuid.uuid4().hex[:6]}"
    token = "ghp_" + "Z" * 36
    busybox_context(tmp_path / "images/base")
    write(tmp_path / "images/leaky/Dockerfile", "ARG SOURCE_IMAGE\nFROM ${SOURCE_IMAGE}\nARG GITHUB_TOKEN\n"
                                                "RUN echo fetched > /tmp/fetched\n")
    write(tmp_path / "bbc.yaml", f"""\
        registry: {prefix}
        defaults:
          network: host
        images:
          base:
            path: images/base
            version: 1.0.0
          leaky:
            path: images/leaky
            parent: base
            version: 1.0.0
            build_args: {{GITHUB_TOKEN: {token}}}
        policy:
          no_secrets: true
        """)
    try:
        run = bbc(tmp_path, "release", "--no-test", "--format", "json", timeout=600)
        assert run.code == 1, run.out + run.err
        rows = {r["image"]: r for r in json.loads(run.out)}
        assert rows["leaky"]["result"] == "refused"
        assert "GitHub token" in rows["leaky"]["message"] and "GITHUB_TOKEN set to a value" in run.err
        assert token not in run.out + run.err  # named, never printed
        assert "nothing was pushed" in run.err
    finally:
        remove_images(docker_client, prefix)
