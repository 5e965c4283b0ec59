"""The release filters are thin shells: same answers as module_utils, Ansible errors on bad input."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.agent_service.platform.plugins.filter.release import FilterModule

FILTERS = FilterModule().filters()


def test_exported_names():
    assert sorted(FILTERS) == ["bluegreen_plan", "bluegreen_shared_values", "conventional_bump", "failed_stage",
                               "image_tags", "release_plan", "satellite_values", "semver_bump", "semver_compare",
                               "semver_parse", "stage_timings"]


def test_release_stage_filters():
    assert FILTERS["failed_stage"]("Smoke | Require a succeeded invocation") == "smoke"
    assert FILTERS["stage_timings"]({"diff": {"at": 12.5}, "render": {"at": 10}}, 9) == {"render": 1.0, "diff": 2.5}
    plan = FILTERS["release_plan"]({"api": {}}, "bluegreen", "r", "r-agent-service", "", ["r"])
    assert plan["plan"]["target"] == "r-blue"
    with pytest.raises(AnsibleFilterError, match="release_plan: the release values must be a dict"):
        FILTERS["release_plan"]("not a dict", "rolling", "r", "r")


def test_semver_parse():
    assert FILTERS["semver_parse"]("1.4.0-rc.1+b.5") == dict(
        version="1.4.0-rc.1+b.5", major=1, minor=4, patch=0, prerelease=["rc", "1"], build=["b", "5"],
        is_prerelease=True)


def test_semver_compare_and_bump():
    assert FILTERS["semver_compare"]("1.4.0-rc.2", "1.4.0") == -1
    assert FILTERS["semver_compare"]("1.4.0+b.1", "1.4.0") == 0
    assert FILTERS["semver_bump"]("1.4.2", "minor") == "1.5.0"
    assert FILTERS["semver_bump"]("1.5.0-rc.1", "prerelease") == "1.5.0-rc.2"
    assert FILTERS["semver_bump"]("1.5.0", "prerelease", "beta") == "1.5.1-beta.1"


def test_image_tags_and_conventional_bump():
    assert FILTERS["image_tags"]("1.2.3", branch="main", sha="3f0c2b1e9d8a7c6b") == [
        "v1.2.3", "v1.2", "v1", "latest", "main-3f0c2b1e"]
    assert FILTERS["image_tags"]("1.2.3", prefix="") == ["1.2.3", "1.2", "1"]
    assert FILTERS["conventional_bump"](["fix: a", "feat(api)!: b"]) == "major"
    assert FILTERS["conventional_bump"]("feat: one message") == "minor"
    assert FILTERS["conventional_bump"](["refactor: x"], patch_types=["refactor"]) == "patch"


@pytest.mark.parametrize("name,args,message", [
    ("semver_parse", ("v1.2.3",), "semver_parse: 'v1.2.3' is not a valid SemVer"),
    ("semver_parse", (None,), "the version must be a string"),
    ("semver_compare", ("1.2.3", "1.2"), "not a valid SemVer"),
    ("semver_bump", ("1.2.3", "mega"), "unknown bump type 'mega'"),
    ("image_tags", ("1.2.3", "main", "not-hex"), "not a hexadecimal"),
    ("conventional_bump", (42,), "needs a list of commit messages"),
    ("conventional_bump", ([1],), "each commit message must be a string"),
])
def test_bad_input_is_a_filter_error(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)


def test_topology_filters_wrap_module_utils():
    plan = FILTERS["bluegreen_plan"]("", "agent-service", "agent-service", [])
    assert (plan["live"], plan["target"]) == (None, "agent-service-blue")
    shared = FILTERS["bluegreen_shared_values"]({}, "agent-service-blue")
    assert shared["api"]["service"]["trafficGroup"] == "agent-service-blue"
    assert FILTERS["satellite_values"]({}, "m", "m-blue", "m-blue")["fullnameOverride"] == "m-blue"


@pytest.mark.parametrize("call", [
    lambda: FILTERS["bluegreen_plan"]("someone-else", "agent-service", "agent-service"),
    lambda: FILTERS["bluegreen_shared_values"]([], "agent-service-blue"),
    lambda: FILTERS["satellite_values"]({}, "", "x", "x"),
])
def test_topology_filters_bad_input(call):
    with pytest.raises(AnsibleFilterError):
        call()
