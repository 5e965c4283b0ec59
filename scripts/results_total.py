#!/usr/bin/env python3
"""The total of `make test`: every stage's JUnit files, read with junitparser, into one line.

    results_total.py RESULTS STAGE ...

`make test` runs each STAGE as `make STAGE RESULTS=RESULTS/STAGE` and leaves RESULTS/STAGE.stage
with the stage's exit code, start and end (epoch seconds). A case counts as failed when it
failed or errored, and when it was skipped unless its id ("classname::name") is a line of
tests/skip-allowlist.txt, exactly. A stage counts as one more failure when it left no record
(it never ran), exited non-zero without a failing case, or recorded no case at all. The
failures and one line per stage (counts, time, exit code) are printed, RESULTS/stage-times.json
is written, and the last line is "N passed, N failed". The exit code is 1 unless every case
passed and at least one ran.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped
from junitparser.junitparser import JUnitXmlError

ALLOWLIST = Path(__file__).resolve().parent.parent / "tests" / "skip-allowlist.txt"

# lines of a failure's text that say what went wrong (Ansible, pytest, molecule, make)
CAUSE = re.compile(r"fatal:|FAILED!|failed: \[|ERROR|Error|assert|Traceback|msg\"?:|CRITICAL|E  ")


def excerpt(text: str, limit: int = 8, width: int = 300) -> list[str]:
    """The last lines of a failure that name a cause, so the tail of a CI log shows why."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    causes = [ln for ln in lines if CAUSE.search(ln)] or lines[-3:]
    return ["    | " + (ln if len(ln) <= width else ln[:width] + " ...") for ln in causes[-limit:]]


def allowed_skips(path: Path = ALLOWLIST) -> set[str]:
    """The case ids whose skip is documented: one "classname::name" per line, '#' starts a comment."""
    if not path.exists():
        return set()
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return {ln for ln in lines if ln}


@dataclass
class Stage:
    name: str
    rc: int | None = None
    seconds: float | None = None
    passed: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def read_record(path: Path) -> tuple[int, float, float] | None:
    """(exit code, start, end) from a STAGE.stage file, None when there is none or it is unreadable."""
    try:
        rc, start, end = path.read_text().split()
        return int(rc), float(start), float(end)
    except (OSError, ValueError):
        return None


def count_cases(stage: Stage, results: Path, allow: set[str]) -> None:
    """Add the cases of every JUnit file under results to stage."""
    for xml in sorted(results.rglob("*.xml")):
        try:
            suites = JUnitXml.fromfile(str(xml))
        except (JUnitXmlError, SyntaxError, ValueError) as exc:
            stage.failed += 1
            stage.notes.append(f"unreadable result file {xml}: {exc}")
            continue
        for suite in suites if isinstance(suites, JUnitXml) else [suites]:
            for case in suite:
                ident = f"{case.classname or ''}::{case.name or ''}"
                bad = [r for r in case.result if isinstance(r, (Failure, Error))]
                skipped = [r for r in case.result if isinstance(r, Skipped)]
                if bad:
                    stage.failed += 1
                    stage.notes.append(f"FAILED {ident}")
                    stage.notes.extend(excerpt(f"{bad[0].message or ''}\n{bad[0].text or ''}"))
                elif skipped and ident in allow:
                    stage.passed += 1
                    stage.notes.append(f"skip allowed {ident}: {skipped[0].message or ''}")
                elif skipped:
                    stage.failed += 1
                    stage.notes.append(f"SKIPPED (counted as failure) {ident}: {skipped[0].message or ''}")
                else:
                    stage.passed += 1


def settle(name: str, results: Path, allow: set[str]) -> Stage:
    """One stage's cases, plus the failure of a stage that did not run, failed silently or recorded nothing."""
    stage = Stage(name)
    record = read_record(results / f"{name}.stage")
    stage_dir = results / name
    if stage_dir.is_dir():
        count_cases(stage, stage_dir, allow)
    if record is None:
        stage.failed += 1
        stage.notes.append(f"stage {name} left no record: it did not run")
        return stage
    stage.rc, stage.seconds = record[0], round(record[2] - record[1], 1)
    if stage.rc != 0 and stage.failed == 0:
        stage.failed += 1
        stage.notes.append(f"stage {name} failed (rc={stage.rc}) without a recorded test failure")
    elif stage.passed + stage.failed == 0:
        stage.failed += 1
        stage.notes.append(f"stage {name} recorded no test case")
    return stage


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results, names = Path(argv[0]), argv[1:]
    allow = allowed_skips()
    stages = [settle(name, results, allow) for name in names]
    # the shared prerequisites record no case of their own; only their exit code counts
    prepare = read_record(results / "prepare.stage")
    if prepare is not None and prepare[0] != 0:
        stages.insert(0, Stage("prepare", prepare[0], round(prepare[2] - prepare[1], 1), 0, 1,
                               [f"the prerequisites failed (rc={prepare[0]})"]))
    for stage in stages:
        for note in stage.notes:
            print(note)
    for s in stages:
        seconds = f"{s.seconds:.0f} s" if s.seconds is not None else "did not run"
        print(f"stage {s.name:<16} {s.passed:5d} passed {s.failed:4d} failed  {seconds:>11}  rc={s.rc}")
    passed, failed = sum(s.passed for s in stages), sum(s.failed for s in stages)
    (results / "stage-times.json").write_text(json.dumps({
        "prepare": round(prepare[2] - prepare[1], 1) if prepare else None,
        "total": round(time.time() - prepare[1], 1) if prepare else None,
        "stages": {s.name: {"seconds": s.seconds, "rc": s.rc, "passed": s.passed, "failed": s.failed}
                   for s in stages},
        "passed": passed, "failed": failed,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
