"""The build/deploy workflows' version step, run for real.

Each case makes a git repository, runs `ansible-playbook agent_service.platform.release`
with the JSON stdout callback exactly as build.yml does, and feeds the output to
.github/scripts/release_outputs.py with the GitHub variables of one kind of ref.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".github" / "scripts" / "release_outputs.py"
VENV_BIN = Path(sys.executable).parent
IMAGE = "ghcr.io/acme/agent-service"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "feat: first release")
    git(path, "tag", "-a", "v1.4.0", "-m", "Release 1.4.0")
    commit(path, "feat(api): stream agent responses")
    commit(path, "fix(worker): retry on broker loss")
    return path


def run_release(repo: Path, collections_path: Path, tmp_path: Path, create_tag: bool = False) -> Path:
    """The build workflow's command line, with its environment."""
    env = dict(os.environ, **GIT_ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "release.json"
    with out.open("w") as handle:
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "agent_service.platform.release", "-e", f"release_git_path={repo}",
             "-e", f"release_create_tag={str(create_tag).lower()}"],
            stdout=handle, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr + out.read_text()[-2000:]
    return out


def outputs(playbook_json: Path, tmp_path: Path, repo: Path | None = None, **github) -> tuple[int, dict, str]:
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    changelog = tmp_path / "CHANGELOG.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(github)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(playbook_json), "--image", IMAGE, "--github-output", str(output_file),
         "--changelog", str(changelog), "--repo", str(repo or tmp_path)],
        capture_output=True, text=True, env=env, timeout=60,
    )
    return proc.returncode, parse_github_output(output_file.read_text()), proc.stderr


def parse_github_output(text: str) -> dict:
    """Read $GITHUB_OUTPUT the way the runner does (key=value and key<<DELIM heredocs)."""
    values, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            values[key] = body
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_main_push_gets_every_tag_and_the_changelog(repo, collections_path, tmp_path):
    sha = git(repo, "rev-parse", "HEAD")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="main", GITHUB_SHA=sha)
    assert rc == 0, err
    assert out["version"] == "1.5.0" and out["tag"] == "v1.5.0" and out["bump"] == "minor"
    assert out["released"] == "true" and out["push"] == "true"
    assert out["image_tags"] == ["v1.5.0", "v1.5", "v1", "latest", f"main-{sha[:8]}"]
    assert out["image_refs"] == [f"{IMAGE}:{t}" for t in out["image_tags"]]
    assert out["deploy_tag"] == "v1.5.0" and out["image_ref"] == f"{IMAGE}:v1.5.0"
    changelog = (tmp_path / "CHANGELOG.md").read_text()
    assert "stream agent responses" in changelog and "retry on broker loss" in changelog


def test_develop_push_only_pushes_its_branch_tag(repo, collections_path, tmp_path):
    git(repo, "checkout", "-q", "-b", "develop")
    sha = commit(repo, "feat: on develop")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="develop", GITHUB_SHA=sha)
    assert rc == 0, err
    assert out["image_tags"] == [f"develop-{sha[:8]}"]
    assert out["deploy_tag"] == f"develop-{sha[:8]}"
    assert out["version"] == "1.5.0"  # reported, never pushed as a tag from develop


def test_pull_request_pushes_nothing(repo, collections_path, tmp_path):
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo,
                           GITHUB_EVENT_NAME="pull_request", GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="7/merge",
                           GITHUB_SHA=sha)
    assert rc == 0, err
    assert out["push"] == "false" and out["image_tags"] == [f"pr-{sha[:8]}"]


def test_release_tag_then_tag_build_agree(repo, collections_path, tmp_path):
    # the release job: create_tag=true tags HEAD with the module's version
    run_release(repo, collections_path, tmp_path, create_tag=True)
    assert git(repo, "tag", "--points-at", "HEAD") == "v1.5.0"
    # the build of the pushed tag (detached HEAD) sees the same version and no new release
    git(repo, "checkout", "-q", "--detach", "v1.5.0")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v1.5.0", GITHUB_SHA=git(repo, "rev-parse", "HEAD"))
    assert rc == 0, err
    assert out["version"] == "1.5.0" and out["released"] == "false"
    # the seed's scheme: a tag build pushes the version tags; latest and <branch>-<sha8> come from main
    assert out["deploy_tag"] == "v1.5.0" and out["image_tags"] == ["v1.5.0", "v1.5", "v1"]


def test_a_tag_that_does_not_match_the_history_stops_the_build(repo, collections_path, tmp_path):
    git(repo, "tag", "v9.9.9")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v7.0.0", GITHUB_SHA=git(repo, "rev-parse", "HEAD"))
    assert rc == 1 and "does not match the version from the history" in err
    assert out == {}


def test_output_without_a_semver_result_is_an_error(tmp_path):
    bad = tmp_path / "release.json"
    bad.write_text(json.dumps({"plays": [{"tasks": [{"hosts": {"localhost": {"changed": False}}}]}],
                               "stats": {"localhost": {"failures": 1}}}))
    rc, _, err = outputs(bad, tmp_path, GITHUB_EVENT_NAME="push", GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="main")
    assert rc == 1 and "no semver_next result" in err


def test_image_name_must_be_lower_case(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "x.json"), "--image", "ghcr.io/Acme/app"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "lower case" in proc.stderr


def test_main_with_nothing_to_release_keeps_the_version_tags(repo, collections_path, tmp_path):
    run_release(repo, collections_path, tmp_path, create_tag=True)  # v1.5.0 released
    sha = commit(repo, "docs: typo")
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="main", GITHUB_SHA=sha)
    assert rc == 0, err
    assert out["released"] == "false" and out["version"] == "1.5.0"
    assert out["image_tags"] == [f"main-{sha[:8]}"] and out["deploy_tag"] == f"main-{sha[:8]}"


def test_deploy_after_the_release_job_tagged_main_deploys_the_version(repo, collections_path, tmp_path):
    """deploy.yml recomputes on the built commit, which the build's release job has tagged by then."""
    sha = git(repo, "rev-parse", "HEAD")
    run_release(repo, collections_path, tmp_path, create_tag=True)
    rc, out, err = outputs(run_release(repo, collections_path, tmp_path), tmp_path, repo, GITHUB_EVENT_NAME="push",
                           GITHUB_REF_TYPE="branch", GITHUB_REF_NAME="main", GITHUB_SHA=sha)
    assert rc == 0, err
    assert out["released"] == "false" and out["deploy_tag"] == "v1.5.0"
    assert out["image_tags"] == ["v1.5.0", "v1.5", "v1", "latest", f"main-{sha[:8]}"]
