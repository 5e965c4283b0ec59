#!/usr/bin/env python3
"""Run the stages of `make test` in order and print one summary line.

Every stage is `make <stage>`. Stages write JUnit XML under $RESULTS (pytest
--junitxml, helm-unittest, scripts/check.py). A stage that exits non-zero
without recording a failure is counted as one failed case, so nothing fails
silently. A skipped test counts as failed unless its id matches a line of
tests/skip-allowlist.txt (documented reasons only). The last line printed is
"N passed, N failed".
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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


def main(stages: list[str]) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    allow = allowed_skips()
    stage_failures = 0
    timings: list[str] = []
    seconds: dict[str, float] = {}
    started = time.monotonic()
    for stage in stages:
        print(f"==> make {stage}", flush=True)
        start = time.monotonic()
        before = count(RESULTS, allow)[1]
        rc = subprocess.call(["make", stage], cwd=ROOT)
        elapsed = time.monotonic() - start
        timings.append(f"{stage}={elapsed:.0f}s rc={rc}")
        seconds[stage] = round(elapsed, 1)
        if rc != 0 and count(RESULTS, allow)[1] == before:
            stage_failures += 1
            print(f"stage {stage} failed (rc={rc}) without a recorded test failure", flush=True)
    passed, failed, notes = count(RESULTS, allow)
    failed += stage_failures
    for note in notes:
        if not note.startswith("skip allowed") or os.environ.get("VERBOSE"):
            print(note)
    print("stage times: " + ", ".join(timings))
    # read by bench/testbed_bench.py (P6)
    (RESULTS / "stage-times.json").write_text(json.dumps({
        "stages": seconds, "total": round(time.monotonic() - started, 1), "passed": passed, "failed": failed,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
