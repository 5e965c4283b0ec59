"""The shared command runner, the git reader, and the spec/doc-fragment twins."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.agent_service.platform.plugins.doc_fragments.prometheus import ModuleDocFragment
from ansible_collections.agent_service.platform.plugins.module_utils import runner
from ansible_collections.agent_service.platform.plugins.module_utils.git import GitRepo, GitRunner
from ansible_collections.agent_service.platform.plugins.module_utils.prometheus import PROMETHEUS_ARG_SPEC
from ansible_collections.agent_service.platform.plugins.module_utils.runner import CommandError, CommandRunner


def test_fragment_matches_spec():
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(options) == sorted(PROMETHEUS_ARG_SPEC)
    for name, spec in PROMETHEUS_ARG_SPEC.items():
        doc = options[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("required", False) == spec.get("required", False), name
        assert doc.get("aliases", []) == spec.get("aliases", []), name


def test_runner_failure_reports_everything():
    calls = []

    def fake(argv, cwd=None, environ_update=None, data=None):
        calls.append((argv, cwd, environ_update))
        return 3, "out", "boom\nreal reason"

    cmd = CommandRunner("/bin/tool", fake, {"LC_ALL": "C"})
    with pytest.raises(CommandError) as exc:
        cmd.run(["sub", 1], cwd="/tmp")
    assert exc.value.to_result() == dict(msg="/bin/tool sub 1... failed (rc=3): real reason", rc=3, stdout="out",
                                         stderr="boom\nreal reason", command=["/bin/tool", "sub", "1"])
    assert calls == [(["/bin/tool", "sub", "1"], "/tmp", {"LC_ALL": "C"})]
    assert cmd.run(["x"], check=False)[0] == 3


def test_runner_version_is_cached_and_gates():
    calls = []

    def fake(argv, cwd=None, environ_update=None, data=None):
        calls.append(argv)
        return 0, "tool version v3.14.2+g1234\n", ""

    class Gated(CommandRunner):
        FLAG_GATES = {"--new": (3, 15, 0), "--old": (3, 0, 0)}

    cmd = Gated("/opt/gated-tool", fake)
    assert cmd.version() == (3, 14, 2) and cmd.version() == (3, 14, 2)
    assert len(calls) == 1
    assert cmd.supports("--old") and not cmd.supports("--new") and cmd.supports("--ungated")
    with pytest.raises(CommandError, match="no binary"):
        CommandRunner("", fake)


def test_runner_unreadable_version():
    cmd = CommandRunner("/opt/odd-tool", lambda argv, **kw: (0, "no digits here", ""))
    with pytest.raises(CommandError, match="cannot read the version"):
        cmd.version()


def test_git_runner_with_real_git(tmp_path):
    git = GitRunner("git", runner.subprocess_run_command)
    assert git.version() >= (2, 7, 0) and git.supports("--merged")
    with pytest.raises(CommandError, match="not inside a git work tree"):
        GitRepo(git, str(tmp_path))
