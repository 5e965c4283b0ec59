"""semver_next against real git repositories built in temporary directories."""

from __future__ import annotations

import os
import subprocess

import pytest
from ansible_collections.agent_service.platform.plugins.modules import semver_next
from module_runner import run_module

GIT_ENV = dict(GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")


class Repo:
    def __init__(self, path):
        self.path = path
        self.counter = 0
        self.git("init", "-q", "-b", "main")

    def git(self, *args):
        env = dict(os.environ, **GIT_ENV)
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, message):
        self.counter += 1
        (self.path / "file.txt").write_text(f"{self.counter}\n")
        self.git("add", "file.txt")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tag(self, name, annotated=True):
        if annotated:
            self.git("tag", "-a", "-m", f"release {name}", name)
        else:
            self.git("tag", name)


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


def run(repo, check_mode=False, **args):
    args.setdefault("path", str(repo.path))
    return run_module(semver_next, args, check_mode)


def test_no_tags_first_version(repo):
    repo.commit("chore: init")
    repo.commit("feat: first feature")
    result, failed = run(repo)
    assert not failed and not result["changed"]
    assert (result["current_version"], result["next_version"], result["bump"]) == (None, "0.1.0", "initial")
    assert result["commit_bump"] == "minor" and result["next_tag"] == "v0.1.0"
    assert [c["type"] for c in result["commits"]] == ["feat", "chore"]
    assert result["image_tags"][:3] == ["v0.1.0", "v0.1", "latest"]
    assert result["image_tags"][3] == f"main-{result['sha'][:8]}"
    assert result["version_tag"] == "v0.1.0"
    assert "### Features\n\n- first feature" in result["changelog"]
    result, _ignored = run(repo, first_version="1.0.0")
    assert result["next_version"] == "1.0.0" and result["image_tags"][:4] == ["v1.0.0", "v1.0", "v1", "latest"]
    result, _ignored = run(repo, first_version="1.0.0", image_tag_prefix="")
    assert result["image_tags"][:4] == ["1.0.0", "1.0", "1", "latest"] and result["version_tag"] == "1.0.0"


def test_annotated_and_lightweight_tags_both_count(repo):
    repo.commit("feat: a")
    repo.tag("v1.0.0", annotated=True)
    repo.commit("feat: b")
    repo.tag("v1.1.0", annotated=False)
    repo.commit("fix: c")
    result, _ignored = run(repo)
    assert (result["current_version"], result["last_release_tag"]) == ("1.1.0", "v1.1.0")
    assert (result["next_version"], result["bump"]) == ("1.1.1", "patch")
    assert [c["description"] for c in result["commits"]] == ["c"]


def test_tags_off_the_current_branch_do_not_count(repo):
    repo.commit("feat: base")
    repo.tag("v1.0.0")
    repo.git("checkout", "-q", "-b", "experiment")
    repo.commit("feat!: rewrite")
    repo.tag("v2.0.0")
    repo.git("checkout", "-q", "main")
    repo.commit("fix: small")
    result, _ignored = run(repo)
    assert result["current_version"] == "1.0.0" and result["next_version"] == "1.0.1"


def test_non_matching_and_monorepo_tags(repo):
    repo.commit("feat: base")
    repo.tag("v3.0.0")
    repo.tag("api-v1.2.0")
    repo.tag("nightly")
    repo.commit("feat(api): endpoint")
    result, _ignored = run(repo, tag_format="api-v{version}")
    assert (result["current_tag"], result["next_tag"]) == ("api-v1.2.0", "api-v1.3.0")
    result, _ignored = run(repo)
    assert result["next_version"] == "3.1.0"


def test_breaking_on_zero_and_major_on_zero(repo):
    repo.commit("feat: base")
    repo.tag("v0.3.0")
    repo.commit("feat!: new API\n\nBREAKING CHANGE: /v0 removed")
    result, _ignored = run(repo)
    assert (result["next_version"], result["bump"], result["commit_bump"]) == ("0.4.0", "minor", "major")
    assert "### BREAKING CHANGES\n\n- /v0 removed" in result["changelog"]
    assert run(repo, major_on_zero=True)[0]["next_version"] == "1.0.0"


def test_revert_and_merge_commits(repo):
    repo.commit("feat: base")
    repo.tag("v1.0.0")
    feat = repo.commit("feat: search")
    repo.git("revert", "--no-edit", feat)
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("fix: on topic")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
    result, _ignored = run(repo)
    ignored = {c["subject"]: c["ignored"] for c in result["commits"]}
    assert ignored["Merge branch 'topic'"] == "merge"
    assert ignored["feat: search"] == "reverted"
    assert ignored['Revert "feat: search"'] == "reverts-in-range"
    assert (result["next_version"], result["bump"]) == ("1.0.1", "patch")


BREAKING_MID_BODY = """fix(api): drop the v1 routes

The v1 routes answered with the old envelope.

BREAKING CHANGE: /v1 is gone; call /v2
with the new envelope.

Migration: point clients at /v2 first.

Closes #188"""


@pytest.mark.parametrize(("message", "bump", "notes"), [
    (BREAKING_MID_BODY, "major", ["/v1 is gone; call /v2\nwith the new envelope."]),
    ("feat: x\n\nBREAKING-CHANGE: the config moved\n\n```\nold: 1\n```", "major", ["the config moved"]),
    ("fix: y\n\nThis is not a BREAKING CHANGE: it only renames a log field.\n\nRefs: #9", "patch", []),
    ("fix: z\n\n  BREAKING CHANGE: quoted in an indented block", "patch", []),
])
def test_breaking_change_anywhere_in_the_body(repo, message, bump, notes):
    """semantic-release and python-semantic-release read a BREAKING CHANGE line wherever it stands."""
    repo.commit("feat: base")
    repo.tag("v1.0.0")
    sha = repo.commit(message)
    result, failed = run(repo)
    assert not failed
    (commit,) = result["commits"]
    assert (commit["sha"], commit["bump"], result["commit_bump"]) == (sha, bump, bump)
    assert commit["breaking_notes"] == notes
    assert result["next_version"] == {"major": "2.0.0", "patch": "1.0.1"}[bump]


def test_github_revert_subject_with_pull_request_suffix(repo):
    repo.commit("fix(deps): update x to v16")
    repo.tag("v1.0.0")
    target = repo.commit("fix(deps): update x to v17")
    # GitHub's revert button: the header in quotes, then the pull request number
    in_range = repo.commit(f'Revert "fix(deps): update x to v17" (#2534)\n\nThis reverts commit {target}.')
    out_of_range = repo.commit('Revert "fix(deps): update x to v16" (#2533)\n\nReverts the v16 update.')
    result, failed = run(repo)
    assert not failed
    by_sha = {c["sha"]: c for c in result["commits"]}
    assert (by_sha[target]["ignored"], by_sha[in_range]["ignored"]) == ("reverted", "reverts-in-range")
    assert by_sha[out_of_range]["type"] == "revert" and by_sha[out_of_range]["ignored"] is None
    assert by_sha[out_of_range]["description"] == "fix(deps): update x to v16"
    assert (result["commit_bump"], result["next_version"]) == ("patch", "1.0.1")


def test_only_prerelease_tags_and_prerelease_channel(repo):
    repo.commit("feat: a")
    repo.tag("v1.0.0-rc.1")
    repo.commit("fix: b")
    result, _ignored = run(repo)
    versions = (result["current_version"], result["last_release"], result["next_version"])
    assert versions == ("1.0.0-rc.1", None, "1.0.0")
    result, _ignored = run(repo, prerelease=True, create_tag=True)
    assert result["next_tag"] == "v1.0.0-rc.2" and result["changed"] and result["tag_created"]
    assert result["image_tags"] == ["v1.0.0-rc.2", f"main-{result['sha'][:8]}"]


def test_create_tag_idempotent_and_check_mode(repo):
    repo.commit("feat: a")
    repo.tag("v1.0.0")
    head = repo.commit("feat: b")
    result, _ignored = run(repo, check_mode=True, create_tag=True)
    assert result["changed"] and not result["tag_created"]
    assert repo.git("tag", "--list", "v1.1.0") == ""
    result, _ignored = run(repo, create_tag=True)
    assert result["changed"] and result["tag_created"] and result["next_tag"] == "v1.1.0"
    assert repo.git("rev-parse", "v1.1.0^{commit}") == head
    assert repo.git("cat-file", "-t", "v1.1.0") == "tag"
    assert repo.git("tag", "-l", "--format=%(contents:subject)", "v1.1.0") == "Release 1.1.0"
    again, _ignored = run(repo, create_tag=True)
    assert not again["changed"] and again["bump"] == "none" and again["next_version"] == "1.1.0"
    repo.commit("fix: c")
    light, _ignored = run(repo, create_tag=True, annotated=False)
    assert light["changed"] and repo.git("cat-file", "-t", "v1.1.1") == "commit"


def test_existing_tag_on_other_commit_is_refused(repo):
    repo.commit("feat: a")
    repo.tag("v1.0.0")
    repo.git("checkout", "-q", "-b", "hotfix")
    repo.commit("feat: on the hotfix branch")
    repo.tag("v1.1.0")  # not reachable from main, but the name is taken
    repo.git("checkout", "-q", "main")
    repo.commit("feat: b")
    result, failed = run(repo)
    assert not failed and result["next_tag"] == "v1.1.0"
    result, failed = run(repo, create_tag=True)
    assert failed and "tag v1.1.0 already exists on commit" in result["msg"] and "refusing to move it" in result["msg"]


def test_dirty_tree(repo):
    repo.commit("feat: a")
    (repo.path / "file.txt").write_text("changed\n")
    result, failed = run(repo)
    assert not failed and result["dirty"]
    result, failed = run(repo, create_tag=True)
    assert failed and "uncommitted changes" in result["msg"]
    result, failed = run(repo, create_tag=True, allow_dirty=True)
    assert not failed and result["changed"]
    (repo.path / "untracked.txt").write_text("x")
    (repo.path / "file.txt").write_text("1\n")
    assert not run(repo)[0]["dirty"]  # untracked files do not make the tree dirty


def test_detached_head_with_branch_option(repo):
    repo.commit("feat: a")
    repo.tag("v1.0.0")
    repo.commit("fix: b")
    repo.git("checkout", "-q", "--detach", "HEAD")
    result, _ignored = run(repo)
    assert result["branch"] is None and result["image_tags"] == ["v1.0.1", "v1.0", "v1"]
    result, _ignored = run(repo, branch="release/1.0")
    assert result["image_tags"][-1] == f"release-1.0-{result['sha'][:8]}"


def test_rev_option(repo):
    first = repo.commit("feat: a")
    repo.commit("feat!: b")
    result, _ignored = run(repo, rev=first)
    assert result["sha"] == first and result["commit_bump"] == "minor"


@pytest.mark.parametrize("args,message", [
    (dict(first_version="1.0"), "not a valid SemVer"),
    (dict(tag_format="release"), "must contain the placeholder"),
    (dict(prerelease=True, prerelease_token="r c"), "invalid prerelease token"),
    (dict(rev="no-such-rev"), "does not name a commit"),
    (dict(minor_types=["fix"]), "both as minor and as patch"),
    (dict(image_tag_prefix="-v", create_tag=True), "image tag prefix '-v' must be empty"),
])
def test_bad_input(repo, args, message):
    repo.commit("feat: a")
    result, failed = run(repo, **args)
    assert failed and message in result["msg"]


def test_a_bad_prefix_creates_no_tag(repo):
    repo.commit("feat: a")
    before = repo.git("tag", "--list")
    result, failed = run(repo, create_tag=True, image_tag_prefix="v/")
    assert failed and "image tag prefix 'v/'" in result["msg"]
    assert repo.git("tag", "--list") == before == ""


def test_not_a_git_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    result, failed = run_module(semver_next, {"path": str(plain)})
    assert failed and "is not inside a git work tree" in result["msg"]
    result, failed = run_module(semver_next, {"path": str(tmp_path / "missing")})
    assert failed and "does not exist" in result["msg"]


def test_empty_repository(repo):
    result, failed = run(repo)
    assert failed and "empty repository" in result["msg"]
