"""molecule/shared/files/quickstart.py: the seed's Quick Start (tests/chart/fixtures/seed/quick-start.md)
read into the commands it runs, and how a run stops. The live runs are the staging and production
scenarios (make e2e)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "quickstart", Path(__file__).resolve().parents[2] / "molecule" / "shared" / "files" / "quickstart.py")
quickstart = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(quickstart)

SMOKE = ("kubectl run test --image=curlimages/curl --rm -i --restart=Never -n {ns} -- "
         "curl -f http://agent-service.{ns}.svc.cluster.local/health")


@pytest.mark.parametrize(("env", "ns", "deploy"), [
    ("Development", "dev",
     "helm install agent-service ./helm/agent-service -f ./helm/agent-service/values-dev.yaml "
     "--namespace dev --create-namespace --set image.tag=latest"),
    ("Staging", "staging",
     "helm upgrade --install agent-service ./helm/agent-service -f ./helm/agent-service/values-staging.yaml "
     "--namespace staging --create-namespace --set image.tag=v1.0.0"),
    ("Production", "production",
     "helm upgrade --install agent-service ./helm/agent-service -f ./helm/agent-service/values-prod.yaml "
     "--namespace production --create-namespace --set image.tag=v1.0.0 --atomic"),
])
def test_plan_is_the_seeds_commands_with_the_exceptions_appended(env, ns, deploy):
    steps = quickstart.plan(env, ns, ["--set", "image.registry=localhost", "-f", "/tmp/sizes one.yaml"])
    assert [s["cmd"] for s in steps if s["seed"]] == [
        deploy + " --set image.registry=localhost -f '/tmp/sizes one.yaml'",
        f"kubectl get all -n {ns} -l app.kubernetes.io/name=agent-service",
        f"kubectl logs -n {ns} -l app.kubernetes.io/component=api --tail=50",
        SMOKE.format(ns=ns),
    ]
    # the one step of ours: the rollouts, between the helm command and the Verify block
    assert [s["seed"] for s in steps] == [True, False, True, True, True]
    assert f"rollout status -n {ns}" in steps[1]["cmd"]


def test_commands_join_continuations_and_drop_comments():
    block = "# Check\nkubectl get all \\\n  -n x\n\n# Run\ncurl -f \\\n  http://h/health\n"
    assert quickstart.commands(block) == ["kubectl get all -n x", "curl -f http://h/health"]


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValueError, match="the environments are Development, Staging, Production"):
        quickstart.plan("Qa", "qa", [])


def test_run_stops_at_the_first_failure_and_records_it(tmp_path):
    steps = [{"seed": True, "cmd": "echo one"}, {"seed": True, "cmd": "echo two >&2; exit 3"},
             {"seed": True, "cmd": f"touch {tmp_path / 'never'}"}]
    assert quickstart.run(steps) == 3
    assert (steps[0]["rc"], steps[0]["stdout"]) == (0, "one\n")
    assert (steps[1]["rc"], steps[1]["stderr"]) == (3, "two\n")
    assert "rc" not in steps[2] and not (tmp_path / "never").exists()


def test_main_writes_every_step_and_returns_the_status(tmp_path, monkeypatch):
    def succeed(steps: list[dict]) -> int:
        for step in steps:
            step.update(rc=0)
        return 0

    monkeypatch.setattr(quickstart, "run", succeed)
    out = tmp_path / "qs.json"
    assert quickstart.main(["Development", "dev", str(out)]) == 0
    written = json.loads(out.read_text())
    assert len(written) == 5 and {s["rc"] for s in written} == {0}
    assert quickstart.main(["Development"]) == 2
    assert quickstart.main(["Qa", "qa", str(tmp_path / "qa.json")]) == 2
    assert not (tmp_path / "qa.json").exists()
