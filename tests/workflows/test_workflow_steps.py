"""The workflows' own shell steps, run with bash as the runner would run them.

Each `run:` script takes its inputs from `env:` (no `${{ }}` inside the scripts), so a step can be
run here with the environment GitHub would give it: the deploy target decision, the kubeconfig
step, the deploy command line (executed by the real ansible-playbook with --syntax-check added),
and the Slack notification (posted to a real HTTP server on loopback).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = Path(sys.executable).parent


def step(workflow: str, job: str, name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / f"{workflow}.yml").read_text())
    for candidate in doc["jobs"][job]["steps"]:
        if candidate.get("name", "").startswith(name):
            assert "${{" not in candidate["run"], f"{name}: expressions belong in env, not in the script"
            return candidate
    raise AssertionError(f"no step {name!r} in {workflow}/{job}")


def run_step(script: str, tmp_path: Path, env: dict[str, str], path_prefix: Path | None = None,
             cwd: Path = ROOT):
    """bash -e like the runner's default shell; returns (proc, outputs, github_env)."""
    output, github_env = tmp_path / "output", tmp_path / "env"
    output.write_text("")
    github_env.write_text("")
    path = os.environ["PATH"] if path_prefix is None else f"{path_prefix}{os.pathsep}{os.environ['PATH']}"
    full_env = {"PATH": path, "HOME": str(tmp_path), "GITHUB_OUTPUT": str(output), "GITHUB_ENV": str(github_env),
                "RUNNER_TEMP": str(tmp_path), "GITHUB_WORKSPACE": str(cwd), **env}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line and "<<" not in line)
    return proc, outputs, github_env.read_text()


DECIDE = {"EVENT": "workflow_run", "HEAD_BRANCH": "", "BUILT_TAG": "", "INPUT_ENVIRONMENT": "",
          "INPUT_VERSION": "", "INPUT_STRATEGY": "", "SHA": "0123456789abcdef0123456789abcdef01234567"}


@pytest.mark.parametrize(("branch", "tag", "environment", "promote"), [
    ("develop", "develop-01234567", "dev", "false"),
    ("main", "1.5.0", "staging", "true"),
])
def test_decide_after_a_build(tmp_path, branch, tag, environment, promote):
    script = step("deploy", "plan", "Decide")["run"]
    proc, out, _ = run_step(script, tmp_path, DECIDE | {"HEAD_BRANCH": branch, "BUILT_TAG": tag})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out == {"environment": environment, "version": tag, "strategy": "", "sha": DECIDE["SHA"],
                   "promote": promote}


def test_decide_refuses_other_branches_and_bad_tags(tmp_path):
    script = step("deploy", "plan", "Decide")["run"]
    proc, out, _ = run_step(script, tmp_path, DECIDE | {"HEAD_BRANCH": "feature/x", "BUILT_TAG": "feature-x-1"})
    assert proc.returncode != 0 and "no environment for branch feature/x" in proc.stdout and out == {}
    proc, out, _ = run_step(script, tmp_path, DECIDE | {"EVENT": "workflow_dispatch", "INPUT_ENVIRONMENT": "prod",
                                                        "INPUT_VERSION": "1.0 ; rm", "INPUT_STRATEGY": "rolling"})
    assert proc.returncode != 0 and "not an image tag" in proc.stdout and out == {}


@pytest.mark.parametrize(("strategy", "expected"), [("inventory default", ""), ("canary", "canary")])
def test_decide_on_manual_dispatch(tmp_path, strategy, expected):
    script = step("deploy", "plan", "Decide")["run"]
    proc, out, _ = run_step(script, tmp_path, DECIDE | {"EVENT": "workflow_dispatch", "INPUT_ENVIRONMENT": "prod",
                                                        "INPUT_VERSION": "1.4.0", "INPUT_STRATEGY": strategy})
    assert proc.returncode == 0, proc.stderr
    assert (out["environment"], out["version"], out["strategy"], out["promote"]) == ("prod", "1.4.0", expected,
                                                                                       "false")


def test_kubeconfig_step_writes_a_private_file(tmp_path):
    script = step("deploy", "deploy", "Kubeconfig")["run"]
    kubeconfig = "apiVersion: v1\nkind: Config\n"
    proc, _, github_env = run_step(script, tmp_path, {
        "KUBECONFIG_B64": base64.b64encode(kubeconfig.encode()).decode(), "EKS_CLUSTER": "", "AWS_ROLE_ARN": "",
        "TARGET_ENV": "dev"})
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "kubeconfig"
    assert written.read_text() == kubeconfig
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert github_env == f"KUBECONFIG={written}\n"
    proc, _, _ = run_step(script, tmp_path, {"KUBECONFIG_B64": "", "EKS_CLUSTER": "", "AWS_ROLE_ARN": "",
                                             "TARGET_ENV": "prod"})
    assert proc.returncode != 0 and "environment prod has neither KUBECONFIG_B64 nor AWS_ROLE_ARN" in proc.stdout


@pytest.fixture(scope="module")
def collections_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("collections")
    link = path / "ansible_collections" / "agent_service" / "platform"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    return path


@pytest.mark.parametrize(("env_name", "strategy"), [("dev", ""), ("prod", ""), ("staging", "canary")])
def test_deploy_command_line_parses(tmp_path, collections_path, env_name, strategy):
    """The step's ansible-playbook command, run for real with --syntax-check appended."""
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    log = tmp_path / "argv.json"
    wrapper = wrapper_dir / "ansible-playbook"
    wrapper.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                       f"json.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
                       f"os.execv({str(VENV_BIN / 'ansible-playbook')!r}, "
                       f"[{str(VENV_BIN / 'ansible-playbook')!r}, *sys.argv[1:], '--syntax-check'])\n")
    wrapper.chmod(0o755)
    script = step("deploy", "deploy", "Deploy (diff")["run"]
    proc, _, _ = run_step(script, tmp_path, {
        "TARGET_ENV": env_name, "VERSION": "1.5.0", "STRATEGY": strategy, "REGISTRY": "ghcr.io", "OWNER": "Acme",
        "SLACK_WEBHOOK_URL": "", "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home")}, path_prefix=wrapper_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playbook: " in proc.stdout and "playbooks/deploy.yml" in proc.stdout
    argv = json.loads(log.read_text())
    assert argv[:4] == ["agent_service.platform.deploy", "-i", f"inventories/{env_name}", "--diff"]
    assert "release_version=1.5.0" in argv and "release_image_repository=acme/agent-service" in argv
    assert ("release_strategy=canary" in argv) == (strategy == "canary")


@pytest.fixture
def webhook(httpserver_ipv4):
    """(URL, received): a webhook on 127.0.0.1 that answers "ok"; received() lists the
    (Content-Type, JSON body) of each POST it was sent."""
    httpserver_ipv4.expect_request("/hook", method="POST").respond_with_data("ok")

    def received():
        return [(request.headers["Content-Type"], json.loads(request.get_data())) for request, _ in httpserver_ipv4.log]
    return httpserver_ipv4.url_for("/hook"), received


def test_build_notification_posts_to_the_webhook(tmp_path, webhook):
    url, received = webhook
    script = step("build", "notify", "Post the build result")["run"]
    env = {"SLACK_WEBHOOK_URL": url, "RESULT": "failure", "RELEASE": "skipped", "VERSION": "1.5.0",
           "IMAGE_REF": "ghcr.io/acme/agent-service:1.5.0", "RUN_URL": "https://ci/run/1", "REF": "main"}
    proc, _, _ = run_step(script, tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert len(received()) == 1
    content_type, payload = received()[0]
    assert content_type == "application/json"
    assert payload["text"].startswith(":x: build failure on main: ghcr.io/acme/agent-service:1.5.0")
    proc, _, _ = run_step(script, tmp_path, env | {"SLACK_WEBHOOK_URL": ""})
    assert proc.returncode == 0 and "no message" in proc.stdout and len(received()) == 1


def test_deploy_failure_notification_posts_to_the_webhook(tmp_path, webhook):
    url, received = webhook
    script = step("deploy", "deploy", "Notify a failure")["run"]
    proc, _, _ = run_step(script, tmp_path, {"SLACK_WEBHOOK_URL": url, "RUN_URL": "https://ci/run/2",
                                             "VERSION": "1.5.0", "TARGET_ENV": "prod"})
    assert proc.returncode == 0, proc.stderr
    assert len(received()) == 1
    assert received()[0][1]["text"] == ":x: deploy of 1.5.0 to prod failed <https://ci/run/2|run>"


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def checkout(tmp_path: Path) -> Path:
    """A repository like the workflow's checkout: this repo's script, a tagged release, new commits."""
    repo = tmp_path / "workspace"
    (repo / ".github" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "scripts" / "release_outputs.py", repo / ".github" / "scripts")
    env = dict(os.environ, **GIT_ENV)
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "feat: first"],
                 ["tag", "-a", "v0.3.0", "-m", "0.3.0"], ["commit", "-q", "--allow-empty", "-m", "fix: a bug"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)
    return repo


def step_env(workflow: str, job: str, name: str) -> dict[str, str]:
    return {k: str(v) for k, v in step(workflow, job, name).get("env", {}).items() if "${{" not in str(v)}


def test_build_version_step_end_to_end(tmp_path, collections_path):
    repo = checkout(tmp_path)
    script = step("build", "version", "Compute the version")["run"]
    env = step_env("build", "version", "Compute the version") | {
        "REGISTRY": "ghcr.io", "OWNER": "Acme", "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "main", "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    proc, out, _ = run_step(script, tmp_path, env, cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out["version"] == "0.3.1" and out["image_ref"] == "ghcr.io/acme/agent-service:v0.3.1"
    # 0.x: no major-only tag
    assert "image_tags<<EOF_IMAGE_TAGS\nv0.3.1\nv0.3\nlatest\nmain-" in (tmp_path / "output").read_text()
    assert "a bug" in (tmp_path / "CHANGELOG.md").read_text()


def test_deploy_plan_step_end_to_end(tmp_path, collections_path):
    repo = checkout(tmp_path)
    env_ = dict(os.environ, **GIT_ENV)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--detach"], check=True, env=env_)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    script = step("deploy", "plan", "Image tag of the build")["run"]
    env = step_env("deploy", "plan", "Image tag of the build") | {
        "REGISTRY": "ghcr.io", "OWNER": "acme", "GITHUB_REF_NAME": "develop", "HEAD_BRANCH": "develop",
        "GITHUB_SHA": sha, "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    proc, out, _ = run_step(script, tmp_path, env, cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out["deploy_tag"] == f"develop-{sha[:8]}" and out["push"] == "true"


def test_release_job_tags_and_pushes_the_version(tmp_path, collections_path):
    """build.yml's release job: semver_next creates the tag, git pushes it to the remote."""
    repo = checkout(tmp_path)
    origin = tmp_path / "origin.git"
    env_ = dict(os.environ, **GIT_ENV)
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True, env=env_)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", str(origin)], check=True, env=env_)
    script = step("build", "release", "Tag the commit")["run"]
    env = step_env("build", "release", "Tag the commit") | {
        "TAG": "v0.3.1", "ANSIBLE_COLLECTIONS_PATH": str(collections_path), "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1", "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    proc, _, _ = run_step(script, tmp_path, env, cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    pushed = subprocess.run(["git", "-C", str(origin), "rev-parse", "v0.3.1^{commit}"], capture_output=True,
                            text=True).stdout
    assert pushed == head
    tagger = subprocess.run(["git", "-C", str(origin), "for-each-ref", "--format=%(taggername)", "refs/tags/v0.3.1"],
                            capture_output=True, text=True).stdout.strip()
    assert tagger == "github-actions[bot]"  # annotated, by the identity the step configures
    # a version the history does not give is refused before anything is pushed
    proc, _, _ = run_step(script, tmp_path, env | {"TAG": "v9.0.0"}, cwd=repo)
    assert proc.returncode != 0 and "semver_next did not create v9.0.0" in proc.stdout
