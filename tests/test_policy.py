"""bbc.yaml's `owner` and the issue-13 policy gates, validated with located messages; the
secret patterns (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbc import secrets
from bbc.errors import ConfigError
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
