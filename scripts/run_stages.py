#!/usr/bin/env python3
"""Run the stages of `make test` in order and print one summary line.

Every stage is `make <stage>`. Stages write JUnit XML under $RESULTS (pytest
--junitxml, helm-unittest, scripts/check.py). A stage that exits non-zero
without recording a failure is counted as one failed case, so nothing fails
silently. A skipped test counts as failed unless its id matches a line of
tests/skip-allowlist.txt (documented reasons only). The last line printed is
"N passed, N failed".

    run_stages.py [--prepare TARGET] [--beside STAGE[:BEFORE] ...] STAGE ...

--prepare runs `make TARGET` first: the prerequisites that the stages share (venv,
collection, images, test bed), built once so that two stages never build them at once.
--beside STAGE starts STAGE together with the first stage, in a lane of its own, instead
of at its place in the order; with :BEFORE, the stage BEFORE (and every one after it)
waits for it, otherwise the run waits for it at the end. It is meant for stages that
mostly wait (alert `for:` durations, Alertmanager group waits, rollouts, analysis
windows): alone, the CPU-bound stages leave about half of the CPU idle. A lane's
output is kept in $RESULTS/logs/<stage>.log and printed when it ends. Every stage gets
STAGES_FOREGROUND_DONE, the path of a file created once the stages outside the lanes are
done: a lane can use it to run fewer jobs at once until then (`make e2e`, E2E_EARLY_JOBS).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("RESULTS", ROOT / ".results"))
ALLOWLIST = ROOT / "tests" / "skip-allowlist.txt"


def allowed_skips() -> list[str]:
    if not ALLOWLIST.exists():
        return []
    lines = (ln.split("#", 1)[0].strip() for ln in ALLOWLIST.read_text().splitlines())
    return [ln for ln in lines if ln]


# lines of a failure's text that say what went wrong (Ansible, pytest, molecule, make)
CAUSE = re.compile(r"fatal:|FAILED!|failed: \[|ERROR|Error|assert|Traceback|msg\"?:|CRITICAL|E  ")


def excerpt(text: str, limit: int = 8, width: int = 300) -> list[str]:
    """The last lines of a failure that name a cause, so a CI log tail shows why."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    causes = [ln for ln in lines if CAUSE.search(ln)] or lines[-3:]
    return ["    | " + (ln if len(ln) <= width else ln[:width] + " ...") for ln in causes[-limit:]]


def count(results: Path, allow: list[str]) -> tuple[int, int, list[str]]:
    passed = failed = 0
    notes: list[str] = []
    for xml in sorted(results.rglob("*.xml")):
        try:
            tree = ET.parse(xml)
        except ET.ParseError as exc:
            failed += 1
            notes.append(f"unreadable result file {xml}: {exc}")
            continue
        for case in tree.iter("testcase"):
            ident = f"{case.get('classname', '')}::{case.get('name', '')}"
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            if bad is not None:
                failed += 1
                notes.append(f"FAILED {ident}")
                notes.extend(excerpt(f"{bad.get('message', '')}\n{bad.text or ''}"))
            elif (skip := case.find("skipped")) is not None:
                reason = skip.get("message", "") or (skip.text or "")
                if any(a in ident for a in allow):
                    passed += 1
                    notes.append(f"skip allowed {ident}: {reason}")
                else:
                    failed += 1
                    notes.append(f"SKIPPED (counted as failure) {ident}: {reason}")
            else:
                passed += 1
    return passed, failed, notes


class Stage:
    """One `make <stage>`, in the foreground (output streamed) or in a lane of its own (output kept)."""

    def __init__(self, name: str):
        self.name, self.rc, self.seconds, self.thread = name, None, 0.0, None

    def run(self, log: Path | None = None) -> int:
        start = time.monotonic()
        if log is None:
            self.rc = subprocess.call(["make", self.name], cwd=ROOT)
        else:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w") as out:
                self.rc = subprocess.call(["make", self.name], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.seconds = round(time.monotonic() - start, 1)
        return self.rc

    def start_beside(self) -> None:
        log = RESULTS / "logs" / f"{self.name}.log"
        print(f"==> make {self.name} (in a lane of its own, beside the next stages; output in {log})", flush=True)
        self.thread = threading.Thread(target=self.run, args=(log,), daemon=True)
        self.thread.start()

    def join(self) -> None:
        if self.thread is None:
            return
        self.thread.join()
        self.thread = None
        log = RESULTS / "logs" / f"{self.name}.log"
        print(f"==> make {self.name} ended after {self.seconds:.0f}s (rc={self.rc}); its output:", flush=True)
        sys.stdout.write(log.read_text(errors="replace"))
        sys.stdout.flush()


def plan(argv: list[str]) -> tuple[list[str], list[str], dict[str, str | None]]:
    """(prepare targets, stages in order, {stage run beside: the stage that waits for it}) from argv."""
    prepare, beside, stages = [], [], []
    args = iter(argv)
    for arg in args:
        if arg in ("--prepare", "--beside"):
            value = next(args, None)
            if value is None:
                raise SystemExit(f"{arg} needs a value")
            (prepare if arg == "--prepare" else beside).append(value)
        else:
            stages.append(arg)
    waits: dict[str, str | None] = {}
    for spec in beside:
        name, _, before = spec.partition(":")
        if name not in stages or (before and before not in stages):
            raise SystemExit(f"--beside {spec} names a stage that is not run: {stages}")
        waits[name] = before or None
    for name, before in waits.items():
        if before in waits:
            raise SystemExit(f"--beside {name}:{before}: {before} runs in a lane of its own, it cannot wait")
    return prepare, stages, waits


def main(argv: list[str]) -> int:
    prepare, order, beside = plan(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    allow = allowed_skips()
    stage_failures = 0
    stages = {name: Stage(name) for name in ["prepare"] * bool(prepare) + order}
    started = time.monotonic()
    done_marker = RESULTS / "logs" / "foreground-done"
    done_marker.parent.mkdir(parents=True, exist_ok=True)
    done_marker.unlink(missing_ok=True)
    os.environ["STAGES_FOREGROUND_DONE"] = str(done_marker)

    def settle(stage: Stage, failures_before: int) -> None:
        # a stage that failed without a failing case in the results counts as one failure;
        # with a lane beside it, that lane's failures can hide it, but the run fails either way
        nonlocal stage_failures
        if stage.rc != 0 and count(RESULTS, allow)[1] == failures_before:
            stage_failures += 1
            print(f"stage {stage.name} failed (rc={stage.rc}) without a recorded test failure", flush=True)

    if prepare:
        print(f"==> make {' '.join(prepare)} (prerequisites of every stage)", flush=True)
        start = time.monotonic()
        rc = subprocess.call(["make", *prepare], cwd=ROOT)
        stages["prepare"].rc, stages["prepare"].seconds = rc, round(time.monotonic() - start, 1)
        settle(stages["prepare"], 0)
    lanes = {name: count(RESULTS, allow)[1] for name in beside}
    for name in beside:
        stages[name].start_beside()
    for name in order:
        if name in beside:
            continue
        # the stage named to wait for a lane's stage does, and so does every one after it
        for other, before in beside.items():
            if before is not None and order.index(name) >= order.index(before) and stages[other].thread is not None:
                stages[other].join()
                settle(stages[other], lanes[other])
        print(f"==> make {name}", flush=True)
        before = count(RESULTS, allow)[1]
        stages[name].run()
        settle(stages[name], before)
    done_marker.touch()
    for other in beside:
        if stages[other].thread is not None:
            stages[other].join()
            settle(stages[other], lanes[other])
    passed, failed, notes = count(RESULTS, allow)
    failed += stage_failures
    for note in notes:
        if not note.startswith("skip allowed") or os.environ.get("VERBOSE"):
            print(note)
    timings = [f"{s.name}={s.seconds:.0f}s rc={s.rc}{' (beside)' if s.name in beside else ''}" for s in stages.values()]
    print("stage times: " + ", ".join(timings))
    # read by bench/testbed_bench.py (P6)
    (RESULTS / "stage-times.json").write_text(json.dumps({
        "stages": {s.name: s.seconds for s in stages.values()}, "beside": beside,
        "total": round(time.monotonic() - started, 1), "passed": passed, "failed": failed,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
