#!/usr/bin/env python3
"""Run the seed's Quick Start for one environment, the way an operator types it.

    quickstart.py ENV NAMESPACE OUT_JSON [EXTRA_HELM_ARG...]

The commands come from tests/chart/fixtures/seed/quick-start.md, section 5 of the seed kept
verbatim. ENV names its "Deploy to <ENV>" block (Development, Staging, Production), which runs
as written with EXTRA_HELM_ARGs appended: the test bed's exceptions, the image registry and the
size overrides. Then the "Verify Deployment" block runs, written for production, with its
namespace replaced by NAMESPACE. In between, the release's Deployments are waited for
(`kubectl rollout status`), as an operator checks the status before the smoke test; that step is
marked `"seed": false`.

Every command runs through bash from the project's root (the seed's paths are ./helm/...), with
KUBECONFIG and PATH from the environment. OUT_JSON gets one record per command: the text as run,
its exit status, output and seconds. The exit status is the first failing command's, else 0;
the commands after a failure do not run.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "tests" / "chart" / "fixtures" / "seed" / "quick-start.md"
RELEASE = "agent-service"


def blocks(text: str) -> dict[str, str]:
    """{"Deploy to Development": "<bash>", ...}: each ### heading and its fenced bash block."""
    found = dict(re.findall(r"^### (.+?)\n```bash\n(.*?)^```", text, flags=re.M | re.S))
    if not found:
        raise ValueError(f"no ### heading with a ```bash block in {SEED}")
    return found


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def plan(env: str, namespace: str, extra: list[str]) -> list[dict]:
    found = blocks(SEED.read_text())
    known = [title.removeprefix("Deploy to ") for title in found if title.startswith("Deploy to ")]
    if env not in known:
        raise ValueError(f"no 'Deploy to {env}' in {SEED.name}: the environments are {', '.join(known)}")
    deploy = commands(found[f"Deploy to {env}"])
    if len(deploy) != 1 or not deploy[0].startswith("helm "):
        raise ValueError(f"'Deploy to {env}' is not one helm command: {deploy}")
    steps = [{"seed": True, "cmd": " ".join([deploy[0], *map(shlex.quote, extra)])}]
    rollout = (
        f"for d in $(kubectl get deploy -n {namespace} -l app.kubernetes.io/instance={RELEASE} -o name); "
        f"do kubectl rollout status -n {namespace} --timeout=300s $d || exit 1; done"
    )
    steps.append({"seed": False, "cmd": rollout})
    for cmd in commands(found["Verify Deployment"]):
        steps.append({"seed": True, "cmd": re.sub(r"\bproduction\b", namespace, cmd)})
    return steps


def run(steps: list[dict]) -> int:
    status = 0
    for step in steps:
        if status:
            break
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", step["cmd"]], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        step.update(
            rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, seconds=round(time.monotonic() - start, 1)
        )
        status = proc.returncode
    return status


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    env, namespace, out, extra = argv[0], argv[1], Path(argv[2]), argv[3:]
    try:
        steps = plan(env, namespace, extra)
    except ValueError as exc:
        print(f"quickstart.py: {exc}", file=sys.stderr)
        return 2
    status = run(steps)
    out.write_text(json.dumps(steps, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
