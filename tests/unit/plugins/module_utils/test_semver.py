"""SemVer 2.0.0 parse/compare/bump, with hypothesis checking precedence against the semver.org rules."""

from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import semver
from ansible_collections.agent_service.platform.plugins.module_utils.semver import SemVer, SemVerError
from hypothesis import given
from hypothesis import strategies as st

# semver.org, spec item 11: 1.0.0-alpha < 1.0.0-alpha.1 < ... < 1.0.0
SPEC_ORDER = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
              "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0"]


@pytest.mark.parametrize("text", [
    "0.0.0", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid", "1.0.0-alpha",
    "1.0.0-alpha.beta.1", "1.0.0-alpha.0valid", "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
    "1.0.0-rc.1+build.123", "2.0.0+build.1848", "1.0.0-0A.is.legal", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
    "99999999999999999999999.999999999999999999.99999999999999999", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
])
def test_parse_valid_roundtrip(text):
    assert str(SemVer.parse(text)) == text


@pytest.mark.parametrize("text", [
    "1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid", "alpha", "1.2.3.DEV",
    "1.2-SNAPSHOT", "01.1.1", "1.01.1", "1.1.01", "v1.2.3", "1.2.3-", "1.2.3+", "1.2.3-alpha..1", "1.2.3-al$pha",
    " 1.2.3", "1.2.3 ", "",
])
def test_parse_invalid(text):
    with pytest.raises(SemVerError, match="not a valid SemVer"):
        SemVer.parse(text)


def test_parse_non_string():
    with pytest.raises(SemVerError, match="must be a string"):
        SemVer.parse(123)


def test_spec_order():
    versions = [SemVer.parse(v) for v in SPEC_ORDER]
    for low, high in zip(versions, versions[1:], strict=False):
        assert low < high and high > low and low.compare(high) == -1 and high.compare(low) == 1
    assert sorted(reversed(versions)) == versions


def test_build_metadata_ignored_in_precedence():
    a, b = SemVer.parse("1.0.0+build.1"), SemVer.parse("1.0.0+build.2")
    assert a == b and a.compare(b) == 0 and hash(a) == hash(b)
    assert not a.identical(b)


def test_immutable_and_views():
    v = SemVer.parse("1.2.3-rc.1+b.7")
    with pytest.raises(AttributeError):
        v.major = 2
    assert str(v.core) == "1.2.3"
    assert v.to_dict() == dict(version="1.2.3-rc.1+b.7", major=1, minor=2, patch=3, prerelease=["rc", "1"],
                               build=["b", "7"], is_prerelease=True)


def test_constructor_validation():
    with pytest.raises(SemVerError, match="major must be a non-negative integer"):
        SemVer(-1, 0, 0)
    with pytest.raises(SemVerError, match="invalid prerelease identifier"):
        SemVer(1, 0, 0, ("01",))
    with pytest.raises(SemVerError, match="invalid build metadata identifier"):
        SemVer(1, 0, 0, (), ("a b",))


@pytest.mark.parametrize("version,part,expected", [
    ("1.2.3", "major", "2.0.0"), ("1.2.3", "minor", "1.3.0"), ("1.2.3", "patch", "1.2.4"),
    ("1.2.3+b.1", "patch", "1.2.4"), ("2.0.0-rc.1", "major", "2.0.0"), ("2.1.0-rc.1", "major", "3.0.0"),
    ("1.3.0-rc.1", "minor", "1.3.0"), ("1.3.1-rc.1", "minor", "1.4.0"), ("1.2.4-rc.1", "patch", "1.2.4"),
    ("1.2.3", "prerelease", "1.2.4-rc.1"), ("1.2.4-rc.1", "prerelease", "1.2.4-rc.2"),
    ("1.2.4-rc.9", "prerelease", "1.2.4-rc.10"), ("1.2.4-beta.3", "prerelease", "1.2.4-rc.1"),
    ("1.2.4-sA", "prerelease", "1.2.5-rc.1"),
    ("1.2.4-rc.2+b", "release", "1.2.4"), ("0.0.0", "major", "1.0.0"),
])
def test_bump(version, part, expected):
    assert str(semver.bump(version, part)) == expected


def test_bump_token_and_errors():
    assert str(semver.bump("1.0.0", "prerelease", "beta")) == "1.0.1-beta.1"
    assert str(semver.bump("1.0.1-rc.2", "prerelease", "beta")) == "1.0.2-beta.1"  # beta.1 < rc.2: never back
    with pytest.raises(SemVerError, match="unknown bump type 'huge'"):
        semver.bump("1.0.0", "huge")
    with pytest.raises(SemVerError, match="invalid prerelease token"):
        semver.bump("1.0.0", "prerelease", "1rc")
    with pytest.raises(SemVerError, match="not a valid SemVer"):
        semver.bump("1.0", "patch")


def test_max_level():
    assert semver.max_level([]) == "none"
    assert semver.max_level(["patch", "none", "minor"]) == "minor"
    with pytest.raises(SemVerError, match="unknown bump level"):
        semver.max_level(["giant"])


# --- property tests ---------------------------------------------------------------------------------
numeric = st.integers(min_value=0, max_value=10**6)
alnum_id = st.from_regex(r"\A[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*\Z").filter(lambda s: 0 < len(s) < 12)
num_id = numeric.map(str)
pre_ids = st.lists(st.one_of(num_id, alnum_id), min_size=0, max_size=4)
build_ids = st.lists(st.from_regex(r"\A[0-9A-Za-z-]{1,6}\Z"), max_size=3)
versions = st.builds(SemVer, st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), pre_ids, build_ids)


def reference_compare(a, b):
    """semver.org item 11, written out step by step as the spec states it."""
    for x, y in ((a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease and not b.prerelease:
        return 0
    if not a.prerelease:
        return 1  # 11.3: a pre-release version has lower precedence than a normal version
    if not b.prerelease:
        return -1
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        x_num, y_num = x.isdigit(), y.isdigit()
        if x_num and y_num:
            return -1 if int(x) < int(y) else 1  # 11.4.1 numerically
        if x_num != y_num:
            return -1 if x_num else 1  # 11.4.3 numeric lower than alphanumeric
        return -1 if x < y else 1  # 11.4.2 lexically in ASCII sort order
    if len(a.prerelease) == len(b.prerelease):
        return 0
    return -1 if len(a.prerelease) < len(b.prerelease) else 1  # 11.4.4 larger set has higher precedence


@given(versions, versions)
def test_precedence_matches_spec(a, b):
    assert a.compare(b) == reference_compare(a, b)
    assert b.compare(a) == -a.compare(b)
    assert (a < b) == (reference_compare(a, b) < 0)
    assert (a == b) == (reference_compare(a, b) == 0)


@given(versions, versions, versions)
def test_precedence_is_transitive(a, b, c):
    if a <= b and b <= c:
        assert a <= c


@given(versions)
def test_roundtrip_and_build_ignored(v):
    assert SemVer.parse(str(v)).identical(v)
    assert v.replace(build=("x",)) == v
    assert v.core >= v
    if v.is_prerelease:
        assert v < v.core


@given(versions, st.sampled_from(["major", "minor", "patch", "prerelease", "release"]))
def test_bump_never_goes_back(v, part):
    bumped = v.bump(part)
    assert bumped.build == ()
    if part == "release":
        assert bumped >= v
    else:
        assert bumped > v
