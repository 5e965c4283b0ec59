"""Next-version policy, tag formats and the image tag scheme."""

from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils.semver import SemVerError
from ansible_collections.agent_service.platform.plugins.module_utils.version_policy import (
    TagFormat,
    docker_tag,
    image_tags,
    plan_next_version,
)


def plan(tags, bump, all_tags=None, **kw):
    return plan_next_version(tags, tags if all_tags is None else all_tags, bump, **kw)


def test_tag_format_matching():
    fmt = TagFormat("v{version}")
    assert str(fmt.parse("v1.2.3")) == "1.2.3"
    assert str(fmt.parse("v1.2.3-rc.1+b.2")) == "1.2.3-rc.1+b.2"
    for tag in ("1.2.3", "v1.2", "v01.2.3", "api-v1.2.3", "v1.2.3-", "release-1", "v1.2.3x"):
        assert fmt.parse(tag) is None, tag
    mono = TagFormat("api-v{version}")
    assert str(mono.parse("api-v2.0.0")) == "2.0.0" and mono.parse("v2.0.0") is None
    assert mono.render("2.1.0") == "api-v2.1.0"
    assert str(TagFormat("{version}").parse("3.0.0")) == "3.0.0"


@pytest.mark.parametrize("fmt", ["v", "v{version}{version}", "v {version}", "x:{version}", None])
def test_tag_format_invalid(fmt):
    with pytest.raises(ValueError, match="tag format"):
        TagFormat(fmt)


@pytest.mark.parametrize("tags,bump,expected", [
    ([], "none", ("initial", "0.1.0")),
    ([], "major", ("initial", "0.1.0")),
    (["v1.2.3"], "none", ("none", "1.2.3")),
    (["v1.2.3"], "patch", ("patch", "1.2.4")),
    (["v1.2.3"], "minor", ("minor", "1.3.0")),
    (["v1.2.3"], "major", ("major", "2.0.0")),
    (["v0.4.1"], "major", ("minor", "0.5.0")),     # 0.x policy
    (["v0.4.1"], "minor", ("minor", "0.5.0")),
    (["v1.0.0", "v1.1.0", "v0.9.0"], "patch", ("patch", "1.1.1")),
    (["v1.0.0", "other-2.0.0", "release"], "minor", ("minor", "1.1.0")),   # non-matching tags ignored
    (["v1.0.0-rc.1", "v1.0.0-rc.2"], "minor", ("initial", "1.0.0")),       # only prerelease tags
    (["v0.0.1-rc.1"], "minor", ("initial", "0.1.0")),
])
def test_plan(tags, bump, expected):
    result = plan(tags, bump)
    assert (result["bump"], result["next_version"]) == expected
    assert result["next_tag"] == f"v{expected[1]}"


def test_major_on_zero_and_first_version():
    assert plan(["v0.4.1"], "major", major_on_zero=True)["next_version"] == "1.0.0"
    assert plan([], "minor", first_version="1.0.0")["next_version"] == "1.0.0"
    with pytest.raises(SemVerError, match="first_version must be a plain"):
        plan([], "minor", first_version="1.0.0-rc.1")
    with pytest.raises(SemVerError, match="not a valid SemVer"):
        plan([], "minor", first_version="1.0")
    with pytest.raises(SemVerError, match="unknown bump level"):
        plan([], "giant")


def test_prerelease_channel_counts_per_core_version():
    tags = ["v1.2.0", "v1.3.0-rc.1", "v1.3.0-rc.2", "v1.4.0-rc.7"]
    assert plan(tags[:3], "minor", all_tags=tags, prerelease_token="rc")["next_version"] == "1.3.0-rc.3"
    assert plan(tags, "minor", prerelease_token="rc")["next_version"] == "1.4.0-rc.8"
    assert plan(["v1.2.0"], "patch", prerelease_token="rc")["next_version"] == "1.2.1-rc.1"
    assert plan(["v1.2.0"], "minor", all_tags=tags, prerelease_token="rc")["next_version"] == "1.3.0-rc.3"
    assert plan(["v1.2.0"], "minor", all_tags=tags, prerelease_token="beta")["next_version"] == "1.3.0-beta.1"
    assert plan([], "none", prerelease_token="rc")["next_version"] == "0.1.0-rc.1"
    # a later prerelease of a higher core keeps counting on that core
    assert plan(["v1.2.0", "v2.0.0-rc.1"], "patch", prerelease_token="rc")["next_version"] == "2.0.0-rc.2"
    with pytest.raises(SemVerError, match="invalid prerelease token"):
        plan([], "minor", prerelease_token="r c")


def test_current_and_last_release():
    result = plan(["v1.2.0", "v1.3.0-rc.1"], "minor")
    assert result["current_version"] == "1.3.0-rc.1" and result["last_release"] == "1.2.0"
    assert result["next_version"] == "1.3.0"


@pytest.mark.parametrize("version,branch,expected", [
    ("1.2.3", "main", ["1.2.3", "1.2", "1", "latest", "main-0123abcd"]),
    ("1.2.3", "feature/x", ["1.2.3", "1.2", "1", "feature-x-0123abcd"]),
    ("0.3.1", "main", ["0.3.1", "0.3", "latest", "main-0123abcd"]),
    ("2.0.8-beta.67", "main", ["2.0.8-beta.67", "main-0123abcd"]),
    ("1.2.3+build.5", "main", ["1.2.3-build.5", "1.2", "1", "latest", "main-0123abcd"]),
])
def test_image_tags(version, branch, expected):
    assert image_tags(version, branch, "0123ABCDEF456789") == expected


@pytest.mark.parametrize(("branch", "version", "expected"), [
    # the seed's scheme: latest only on main, v-prefixed versions, <branch>-<sha8>
    ("main", "1.2.3", ["v1.2.3", "v1.2", "v1", "latest", "main-abc12345"]),
    ("develop", "1.2.3", ["v1.2.3", "v1.2", "v1", "develop-abc12345"]),
    ("main", "0.4.0", ["v0.4.0", "v0.4", "latest", "main-abc12345"]),
    ("main", "2.0.0-rc.1", ["v2.0.0-rc.1", "main-abc12345"]),
])
def test_image_tags_with_the_seeds_v_prefix(branch, version, expected):
    assert image_tags(version, branch, "abc12345def", prefix="v") == expected


@pytest.mark.parametrize("prefix", ["-v", ".v", "v/", "ver sion", "x" * 33, 7])
def test_a_prefix_that_cannot_start_a_docker_tag_is_refused(prefix):
    with pytest.raises(ValueError, match="image tag prefix"):
        image_tags("1.2.3", "main", "abc12345", prefix=prefix)


def test_image_tags_options_and_errors():
    assert image_tags("1.2.3") == ["1.2.3", "1.2", "1"]
    assert image_tags("1.2.3", "main", "0123abcdef", latest=False) == ["1.2.3", "1.2", "1", "main-0123abcd"]
    assert image_tags("1.2.3", "trunk", None, default_branch="trunk") == ["1.2.3", "1.2", "1", "latest"]
    assert image_tags("1.2.3", "main", "0123abcdef", sha_length=4)[-1] == "main-0123"
    with pytest.raises(ValueError, match="not a hexadecimal"):
        image_tags("1.2.3", "main", "xyz")
    with pytest.raises(ValueError, match="sha_length"):
        image_tags("1.2.3", "main", "0123abcd", sha_length=2)
    with pytest.raises(SemVerError):
        image_tags("v1.2.3")


def test_docker_tag_sanitising():
    assert docker_tag("feat/a b") == "feat-a-b"
    assert docker_tag("-.x") == "x"
    assert len(docker_tag("a" * 300)) == 128
