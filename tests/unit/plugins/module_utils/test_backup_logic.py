"""The pure parts of module_utils/release_backup.py: commands, pod choice, manifest, retention."""
from __future__ import annotations

import json
import stat
import sys

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import release_backup as rb


def test_helm_state_reads_the_backed_up_revision():
    cmds = dict(rb.helm_state_commands("/bin/helm", "agent-service", "prod", 12))
    assert list(cmds) == list(rb.HELM_STATE_FILES)
    assert cmds["values.yaml"] == ["/bin/helm", "get", "values", "agent-service", "--namespace", "prod",
                                   "--revision", "12", "--output", "yaml"]
    assert cmds["manifest.yaml"][-2:] == ["--revision", "12"]
    assert cmds["history.json"][-2:] == ["--output", "json"]


def test_kubectl_commands_keep_global_flags():
    kubectl = ["kubectl", "--context", "prod"]
    assert rb.pod_lookup_command(kubectl, "prod", "a=b")[:5] == ["kubectl", "--context", "prod", "get", "pods"]
    dump = rb.pod_dump_command(kubectl, "prod", "pg-0", "postgresql")
    assert dump[:3] == kubectl and dump[dump.index("--") + 1:] == ["sh", "-c", rb.POD_DUMP_SCRIPT]
    assert "-Fc" in rb.POD_DUMP_SCRIPT and "$POSTGRES_PASSWORD" in rb.POD_DUMP_SCRIPT


@pytest.mark.parametrize("answer, expected", [
    ('{"items": []}', None),
    ("", None),
    ('{"items": [{"metadata": {"name": "pg-1"}}, {"metadata": {"name": "pg-0"}}]}', "pg-0"),
])
def test_running_pod(answer, expected):
    assert rb.running_pod(answer) == expected


def test_retention_sorts_by_timestamp_and_ignores_other_names():
    names = ["20261128T100000Z-r9", "20261127T100000Z-r12", "notes", "20261126T100000Z-r3", "latest"]
    assert rb.retention_victims(names, 2) == ["20261126T100000Z-r3"]
    assert rb.retention_victims(names, 5) == []
    with pytest.raises(ValueError):
        rb.retention_victims(names, 0)


def test_manifest_lists_the_dump_only_when_taken():
    with_dump = rb.describe("/b/x", "2026-11-28T10:00:00+00:00", "agent-service", "dev", "3", {"env": "dev"},
                            {"dumped": True, "bytes": 10, "sha256": "ab", "method": "exec"})
    assert with_dump["files"][-1] == "db.dump" and with_dump["revision"] == 3 and with_dump["env"] == "dev"
    assert with_dump["database"] == {"dumped": True, "bytes": 10, "sha256": "ab", "format": "custom",
                                     "method": "exec"}
    without = rb.describe("/b/x", "t", "agent-service", "dev", 3)
    assert "db.dump" not in without["files"] and without["database"]["method"] == "none"
    assert json.loads(json.dumps(without)) == without


def test_run_to_files_runs_every_job_and_reports_each_failure(tmp_path):
    ok, bad, missing = tmp_path / "ok", tmp_path / "bad", tmp_path / "missing"
    failures = rb.run_to_files([
        ([sys.executable, "-c", "import sys; sys.stdout.buffer.write(bytes(range(256)))"], str(ok)),
        ([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], str(bad)),
        (["/nonexistent/helm", "version"], str(missing)),
    ])
    assert ok.read_bytes() == bytes(range(256)) and stat.S_IMODE(ok.stat().st_mode) == 0o600
    by_rc = {rc: err for _argv, rc, err in failures}
    assert sorted(by_rc) == [3, 127] and by_rc[3] == "boom"
    assert "/nonexistent/helm" in rb.describe_failures(failures)
