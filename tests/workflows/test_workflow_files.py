"""The GitHub workflows do what the seed's CI/CD section asks, with pinned actions.

actionlint (make lint) checks syntax, expressions and the shell scripts; these tests check
the content: triggers, environments, the single source of the version, pins.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"

USES_RE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
PIN_RE = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT_RE = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+$")


def uses_lines() -> list[tuple[Path, int, str, str]]:
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted((ROOT / ".github" / "actions").rglob("action.yml"))
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if match := USES_RE.match(line):
                found.append((path, number, match.group(1), match.group(2)))
    return found


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def step_uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def all_run(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def test_the_three_workflows_exist(workflows):
    assert {"build", "deploy", "test"} <= set(workflows)


def test_every_action_is_pinned_to_a_commit_with_its_version():
    lines = uses_lines()
    assert len(lines) >= 15
    pins: dict[str, set[str]] = {}
    for path, number, ref, rest in lines:
        where = f"{path.relative_to(ROOT)}:{number}"
        if ref.startswith("./"):
            assert (ROOT / ref / "action.yml").is_file(), f"{where}: local action {ref} does not exist"
            continue
        match = PIN_RE.match(ref)
        assert match, f"{where}: {ref} is not pinned to a full commit sha"
        assert VERSION_COMMENT_RE.match(rest), f"{where}: {ref} has no '# vX.Y.Z' comment"
        pins.setdefault(match["action"], set()).add(match["sha"])
    drift = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert not drift, f"one action pinned to several commits: {drift}"


def test_build_triggers_match_the_seed(workflows):
    on = workflows["build"]["on"]
    assert set(on["push"]["branches"]) == {"main", "develop"}
    assert on["push"]["tags"] == ["v*.*.*"]
    assert "pull_request" in on


def test_build_is_multi_arch_with_layer_cache_scan_and_sbom(workflows):
    jobs = workflows["build"]["jobs"]
    assert set(workflows["build"]["env"]["PLATFORMS"].split(",")) == {"linux/amd64", "linux/arm64"}
    image = jobs["image"]
    assert step_uses(image, "docker/setup-qemu-action") and step_uses(image, "docker/setup-buildx-action")
    push_step = step_uses(image, "docker/build-push-action")[0]["with"]
    assert push_step["platforms"] == "${{ env.PLATFORMS }}"
    assert push_step["cache-from"].startswith("type=gha") and "mode=max" in push_step["cache-to"]
    assert push_step["tags"] == "${{ env.IMAGE_REFS }}"
    trivy = step_uses(image, "aquasecurity/trivy-action")[0]["with"]
    assert trivy["exit-code"] == "1" and "CRITICAL" in trivy["severity"]
    assert step_uses(image, "anchore/sbom-action")[0]["with"]["format"] == "spdx-json"


def test_build_takes_version_tags_and_changelog_from_the_release_playbook(workflows):
    jobs = workflows["build"]["jobs"]
    version_run = all_run(jobs["version"])
    assert "ansible-playbook agent_service.platform.release" in version_run
    assert "ansible.posix.json" in str(jobs["version"]["steps"])
    assert ".github/scripts/release_outputs.py" in version_run and "--changelog" in version_run
    assert jobs["image"]["env"]["IMAGE_REFS"] == "${{ needs.version.outputs.image_refs }}"
    # no second source of versions (docker/metadata-action, git describe, ...)
    text = (WORKFLOWS / "build.yml").read_text()
    assert "metadata-action" not in text and "git describe" not in text
    release = jobs["release"]
    assert "release_create_tag=true" in all_run(release) and "gh release create" in all_run(release)
    assert release["permissions"] == {"contents": "write"}
    assert "CHANGELOG.md" in all_run(release)


def test_build_notifies_slack(workflows):
    notify = workflows["build"]["jobs"]["notify"]
    assert "always()" in notify["if"]
    assert "SLACK_WEBHOOK_URL" in str(notify)


def test_deploy_environments_and_approval(workflows):
    deploy = workflows["deploy"]
    assert deploy["on"]["workflow_run"]["workflows"] == ["build"]
    assert set(deploy["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]) == {"dev", "staging", "prod"}
    decide = all_run(deploy["jobs"]["plan"])
    assert "develop) env_name=dev" in decide and "main) env_name=staging promote=true" in decide
    jobs = deploy["jobs"]
    assert jobs["deploy"]["environment"] == "${{ needs.plan.outputs.environment }}"
    # prod: its own GitHub environment (required reviewers are set on it), after staging succeeded
    assert jobs["prod"]["environment"] == "prod"
    assert "deploy" in jobs["prod"]["needs"]
    assert jobs["prod"]["concurrency"]["cancel-in-progress"] is False


def test_deploy_runs_the_collection_playbook_with_the_environment_inventory(workflows):
    job = workflows["deploy"]["jobs"]["deploy"]
    run = all_run(job)
    assert "ansible-playbook agent_service.platform.deploy" in run
    assert '-i "inventories/$TARGET_ENV"' in run and "--diff" in run
    assert '"release_version=$VERSION"' in run
    for env in ("dev", "staging", "prod"):
        assert (ROOT / "inventories" / env / "hosts.yml").is_file()
    # prod's inventory asks for the canary; deploy.yml does not override it on promotion
    prod_vars = (ROOT / "inventories" / "prod" / "group_vars" / "agent_service" / "main.yml").read_text()
    assert "release_strategy: canary" in prod_vars
    assert workflows["deploy"]["jobs"]["prod"]["env"]["STRATEGY"] == ""
    # the same steps serve both jobs
    assert workflows["deploy"]["jobs"]["prod"]["steps"] == job["steps"]


def test_deploy_notifies(workflows):
    run = all_run(workflows["deploy"]["jobs"]["deploy"])
    assert "vault_agent_service_slack_webhook" in run  # the role's report stage posts it
    assert "SLACK_WEBHOOK_URL" in run


def test_test_workflow_runs_lint_sanity_unit_and_the_kind_scenario(workflows):
    jobs = workflows["test"]["jobs"]
    assert set(jobs["checks"]["strategy"]["matrix"]["stage"]) == {"lint", "sanity", "unit"}
    assert "make ${{ matrix.stage }}" in all_run(jobs["checks"])
    assert "molecule test -s kind" in all_run(jobs["molecule-kind"])


@pytest.mark.parametrize("name", ["build", "deploy", "test"])
def test_workflows_default_to_read_only_tokens(workflows, name):
    assert workflows[name]["permissions"] == {"contents": "read"}
