from __future__ import annotations

import pytest

from bbc.errors import BbcError
from bbc.model.hierarchy import topological
from bbc.model.versions import bump, cascade, child_bump, floating_tags, parse


@pytest.mark.parametrize(
    ("version", "how", "expected"),
    [
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("0.9.9", "major", "1.0.0"),
        ("1.2.3", "1.2.4", "1.2.4"),
        ("1.2.3", "3.0.0-rc.1", "3.0.0-rc.1"),
        # a pre-release is released by the bump it was preparing
        ("1.2.4-rc.1", "patch", "1.2.4"),
        ("1.3.0-rc.1", "minor", "1.3.0"),
        ("2.0.0-rc.2", "major", "2.0.0"),
        ("1.3.1-rc.1", "minor", "1.4.0"),
        ("1.2.3+build.7", "patch", "1.2.4"),
    ],
)
def test_bump(version: str, how: str, expected: str) -> None:
    assert bump(version, how) == expected


@pytest.mark.parametrize("how", ["1.2.3", "1.2.2", "1.2.3-rc.1", "0.9.0"])
def test_bump_explicit_must_be_newer(how: str) -> None:
    with pytest.raises(BbcError) as exc:
        bump("1.2.3", how, where="images.python.version")
    assert str(exc.value) == (
        f"images.python.version: requested version {how} is not newer than the current 1.2.3"
    )


def test_bump_rejects_non_semver() -> None:
    with pytest.raises(BbcError) as exc:
        bump("1.2", "patch", where="images.base.version")
    assert str(exc.value) == "images.base.version: '1.2' is not a semantic version"
    assert exc.value.tip is not None and "MAJOR.MINOR.PATCH" in exc.value.tip
    with pytest.raises(BbcError, match=r"requested version: 'v2.0.0' is not a semantic"):
        bump("1.2.3", "v2.0.0")


def test_parse_error_is_bbc_error() -> None:
    with pytest.raises(BbcError, match="'latest' is not a semantic version"):
        parse("latest")


@pytest.mark.parametrize(
    ("old", "new", "policy", "expected"),
    [
        ("1.2.3", "1.2.4", "patch", "patch"),
        ("1.2.3", "2.0.0", "patch", "patch"),
        ("1.2.3", "2.0.0", "follow-major", "major"),
        ("1.2.3", "1.3.0", "follow-major", "minor"),
        ("1.2.3", "1.2.4", "follow-major", "patch"),
        ("1.2.3", "2.0.0", "none", None),
    ],
)
def test_child_bump(old: str, new: str, policy: str, expected: str | None) -> None:
    assert child_bump(old, new, policy) == expected


# root -> python -> {web, ml}; ml -> ml-gpu; node is a sibling root
PARENTS: dict[str, str | None] = {
    "root": None,
    "node": None,
    "python": "root",
    "web": "python",
    "ml": "python",
    "ml-gpu": "ml",
}


class Links:
    """The parent links, ordered by the one function that orders them (bbc.hierarchy)."""

    def __init__(self, parents: dict[str, str | None]) -> None:
        self.parents = parents
        self.order = topological(parents, list(parents))

    def parent(self, name: str) -> str | None:
        return self.parents[name]

    def needs(self, name: str) -> tuple[str, ...]:
        parent = self.parents[name]
        return (parent,) if parent else ()


GRAPH = Links(PARENTS)
CURRENT = {
    "root": "1.0.0",
    "node": "3.1.0",
    "python": "2.4.1",
    "web": "0.3.0",
    "ml": "5.0.2",
    "ml-gpu": "5.0.2",
}


def test_cascade_default_patches_every_descendant_in_order() -> None:
    got = cascade({"python": ("2.4.1", "3.0.0")}, GRAPH, CURRENT)
    assert list(got.items()) == [
        ("python", ("2.4.1", "3.0.0")),
        ("web", ("0.3.0", "0.3.1")),
        ("ml", ("5.0.2", "5.0.3")),
        ("ml-gpu", ("5.0.2", "5.0.3")),
    ]


def test_cascade_follow_major_and_none() -> None:
    policies = {"web": "none", "ml": "follow-major", "ml-gpu": "follow-major"}
    got = cascade({"root": ("1.0.0", "2.0.0")}, GRAPH, CURRENT, policies)
    assert got == {
        "root": ("1.0.0", "2.0.0"),
        "python": ("2.4.1", "2.4.2"),  # default patch
        # python only went up a patch, so ml follows with a patch, and ml-gpu likewise
        "ml": ("5.0.2", "5.0.3"),
        "ml-gpu": ("5.0.2", "5.0.3"),
    }


def test_cascade_follow_major_chains() -> None:
    policies = {"python": "follow-major", "ml": "follow-major", "ml-gpu": "follow-major"}
    got = cascade({"root": ("1.0.0", "1.1.0")}, GRAPH, CURRENT, policies)
    assert got["python"] == ("2.4.1", "2.5.0")
    assert got["ml"] == ("5.0.2", "5.1.0")
    assert got["ml-gpu"] == ("5.0.2", "5.1.0")
    assert got["web"] == ("0.3.0", "0.3.1")
    assert "node" not in got


def test_cascade_none_stops_the_chain() -> None:
    got = cascade({"python": ("2.4.1", "2.5.0")}, GRAPH, CURRENT, {"ml": "none"})
    assert got == {"python": ("2.4.1", "2.5.0"), "web": ("0.3.0", "0.3.1")}


def test_cascade_explicit_change_wins_over_cascade() -> None:
    changes = {"python": ("2.4.1", "2.5.0"), "ml": ("5.0.2", "6.0.0")}
    got = cascade(changes, GRAPH, CURRENT)
    assert got["ml"] == ("5.0.2", "6.0.0")
    assert got["ml-gpu"] == ("5.0.2", "5.0.3")


def test_cascade_errors() -> None:
    with pytest.raises(BbcError, match="cascade: unknown image 'pyhton'"):
        cascade({"pyhton": ("1.0.0", "1.0.1")}, GRAPH, CURRENT)
    with pytest.raises(BbcError, match="images.web: unknown cascade policy 'minor'"):
        cascade({"python": ("2.4.1", "2.4.2")}, GRAPH, CURRENT, {"web": "minor"})
    current = {k: v for k, v in CURRENT.items() if k != "web"}
    with pytest.raises(BbcError, match="images.web: no current version to bump"):
        cascade({"python": ("2.4.1", "2.4.2")}, GRAPH, current)


@pytest.mark.parametrize(
    ("version", "existing", "expected"),
    [
        ("1.0.0", [], ["1.0", "1", "latest"]),
        ("1.2.4", ["1.2.3", "1.2", "1", "latest"], ["1.2", "1", "latest"]),
        # a backport to an old line moves only that line's tag
        ("1.1.9", ["1.1.8", "1.2.0", "2.0.0"], ["1.1"]),
        ("1.3.0", ["1.2.0", "2.0.0"], ["1.3", "1"]),
        ("1.2.1", ["1.2.5", "2.0.0"], []),
        # re-releasing the current highest still moves them
        ("2.0.0", ["2.0.0"], ["2.0", "2", "latest"]),
        # pre-releases never move tags, and do not block releases from moving them
        ("2.0.0-rc.1", ["1.0.0"], []),
        ("1.9.0", ["1.8.0", "2.0.0-rc.1"], ["1.9", "1", "latest"]),
        # non-semver tags are ignored
        ("1.0.1", ["sha-abc123", "v9.9.9", "edge", "1.0.0"], ["1.0", "1", "latest"]),
    ],
)
def test_floating_tags(version: str, existing: list[str], expected: list[str]) -> None:
    assert floating_tags(version, existing) == expected


def test_floating_tags_rejects_bad_version() -> None:
    with pytest.raises(BbcError, match="'1.2' is not a semantic version"):
        floating_tags("1.2", [])


@pytest.mark.parametrize(("version", "existing"), [
    ("2.0.0+build.6", ["2.0.0+build.7"]), ("2.0.0", ["2.0.0+build.7"]), ("2.0.0+b", ["1.0.0", "2.0.0"])])
def test_equal_precedence_never_moves_a_floating_tag(version: str, existing: list[str]) -> None:
    # build metadata does not order versions: the tags stay with the release already there
    assert floating_tags(version, existing) == []
