#!/usr/bin/env python3
"""The total of `make test`: every stage's JUnit files, read with junitparser, into one line.

    results_total.py RESULTS STAGE ...

`make test` runs each STAGE as `make STAGE RESULTS=RESULTS/STAGE` and leaves RESULTS/STAGE.stage
with the stage's exit code, start and end (epoch seconds). A case counts as failed when it
failed or errored, and when it was skipped unless its id ("classname::name") is a line of
tests/skip-allowlist.txt, exactly. A case id recorded more than once in a stage counts once
(failed if any record failed). A stage counts as one more failure when it left no record (it
never ran), exited non-zero without a failing case, or recorded no case at all; so does a
stage that left a record or results in RESULTS without being one of the STAGEs (its results
would otherwise go uncounted). Each JUnit file has a kind (KINDS: offline, real service,
cluster). The failures, one line per stage (counts, time, exit code) and one per kind are
printed, RESULTS/stage-times.json is written, and the last line is "N passed, N failed". The
exit code is 1 unless every case passed and at least one ran.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase
from junitparser.junitparser import JUnitXmlError

ALLOWLIST = Path(__file__).resolve().parent.parent / "tests" / "skip-allowlist.txt"

# lines of a failure's text that say what went wrong (Ansible, pytest, molecule, make)
CAUSE = re.compile(r"fatal:|FAILED!|failed: \[|ERROR|Error|assert|Traceback|msg\"?:|CRITICAL|E  ")

OFFLINE, REAL, CLUSTER, UNCLASSIFIED = "offline", "real service", "cluster", "unclassified"
# What each stage's JUnit files (paths under RESULTS/<stage>) need to run, as most of their cases do:
# offline (files and tools), real service (real PostgreSQL, Redis, Prometheus or Alertmanager
# processes on loopback, no cluster) or cluster (the Kubernetes test bed). A stage's first entry is the
# kind of its files that are not named and of its own failures; a stage not named here is unclassified.
# Mixed files: unit/collection.xml (error_rate_check's cases query a real Prometheus),
# monitoring/offline.xml (dashboard queries and alert delivery on a real Prometheus and Alertmanager)
# and runbooks/pytest.xml (runbook SQL and Redis commands on real servers) are mostly offline.
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "prepare": (CLUSTER, {}),  # the shared prerequisites, the test bed among them
    "lint": (OFFLINE, {}),
    "unit": (OFFLINE, {}),
    "sanity": (OFFLINE, {}),
    "chart-test": (OFFLINE, {"chart/install.xml": CLUSTER}),
    "app-test": (REAL, {}),
    "testbed-test": (CLUSTER, {}),
    "monitoring-test": (CLUSTER, {"monitoring/offline.xml": OFFLINE, "runbooks/pytest.xml": OFFLINE}),
    "e2e": (CLUSTER, {}),
    "e2e-rollback": (CLUSTER, {}),
    "faults-namespace": (CLUSTER, {}),
    "faults-node": (CLUSTER, {}),
}
# what RESULTS holds beside the stages: the prerequisites' record and every stage's log
NOT_STAGES = {"prepare", "logs"}


def kind_of(stage: str, path: str = "") -> str:
    """The kind of a stage's JUnit file (path relative to RESULTS/<stage>): the table's, else the stage's."""
    default, files = KINDS.get(stage, (UNCLASSIFIED, {}))
    return files.get(path, default)


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
    kinds: dict[str, list[int]] = field(default_factory=dict)  # kind: [passed, failed]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(passed for passed, _ in self.kinds.values())

    @property
    def failed(self) -> int:
        return sum(failed for _, failed in self.kinds.values())

    def count(self, kind: str, passed: bool, *notes: str) -> None:
        self.kinds.setdefault(kind, [0, 0])[0 if passed else 1] += 1
        self.notes.extend(notes)

    def fail(self, note: str) -> None:
        """One failure of the stage itself, of the stage's kind."""
        self.count(kind_of(self.name), False, note)


def read_record(path: Path) -> tuple[int, float, float] | None:
    """(exit code, start, end) from a STAGE.stage file, None when there is none or it is unreadable."""
    try:
        rc, start, end = path.read_text().split()
        return int(rc), float(start), float(end)
    except (OSError, ValueError):
        return None


def count_cases(stage: Stage, results: Path, allow: set[str]) -> None:
    """Add the cases of every JUnit file under results to stage, each case id once: pytest records a test
    that fails and then errors in its teardown as two cases of one id, and two files with one id are one
    test run twice."""
    records: dict[str, list[tuple[str, TestCase]]] = {}
    for xml in sorted(results.rglob("*.xml")):
        path = xml.relative_to(results).as_posix()
        try:
            suites = JUnitXml.fromfile(str(xml))
        except (JUnitXmlError, SyntaxError, ValueError) as exc:
            stage.count(kind_of(stage.name, path), False, f"unreadable result file {xml}: {exc}")
            continue
        for suite in suites if isinstance(suites, JUnitXml) else [suites]:
            for case in suite:
                records.setdefault(f"{case.classname or ''}::{case.name or ''}", []).append((path, case))
    for ident, recorded in records.items():
        kind = kind_of(stage.name, recorded[0][0])
        outcomes = [r for _, case in recorded for r in case.result]
        bad = [r for r in outcomes if isinstance(r, (Failure, Error))]
        skipped = [r for r in outcomes if isinstance(r, Skipped)]
        if len(recorded) > 1:
            files = ", ".join(sorted({path for path, _ in recorded}))
            stage.notes.append(f"counted once: {ident} is recorded {len(recorded)} times ({files})")
        if bad:
            stage.count(kind, False, f"FAILED {ident}", *excerpt(f"{bad[0].message or ''}\n{bad[0].text or ''}"))
        elif skipped and ident in allow:
            stage.count(kind, True, f"skip allowed {ident}: {skipped[0].message or ''}")
        elif skipped:
            stage.count(kind, False, f"SKIPPED (counted as failure) {ident}: {skipped[0].message or ''}")
        else:
            stage.count(kind, True)


def settle(name: str, results: Path, allow: set[str], registered: bool = True) -> Stage:
    """One stage's cases, plus the failure of a stage that did not run, failed silently, recorded nothing
    or is not registered (not one of the stages given)."""
    stage = Stage(name)
    record = read_record(results / f"{name}.stage")
    stage_dir = results / name
    if stage_dir.is_dir():
        count_cases(stage, stage_dir, allow)
    if record is not None:
        stage.rc, stage.seconds = record[0], round(record[2] - record[1], 1)
    if not registered:
        stage.fail(f"stage {name} left results in {results} but is not one of make test's TEST_STAGES (Makefile)")
    elif record is None:
        stage.fail(f"stage {name} left no record: it did not run")
    elif stage.rc != 0 and stage.failed == 0:
        stage.fail(f"stage {name} failed (rc={stage.rc}) without a recorded test failure")
    elif stage.passed + stage.failed == 0:
        stage.fail(f"stage {name} recorded no test case")
    return stage


def unregistered(results: Path, names: list[str]) -> list[str]:
    """The stages that left a record or a results directory in results but are not among names."""
    if not results.is_dir():
        return []
    found = {p.stem for p in results.glob("*.stage")} | {p.name for p in results.iterdir() if p.is_dir()}
    return sorted(found - set(names) - NOT_STAGES)


def kind_totals(stages: list[Stage]) -> dict[str, list[int]]:
    """{kind: [passed, failed]} over stages: offline, real service, cluster, then any other kind."""
    totals: dict[str, list[int]] = {kind: [0, 0] for kind in (OFFLINE, REAL, CLUSTER)}
    for stage in stages:
        for kind, (passed, failed) in stage.kinds.items():
            totals.setdefault(kind, [0, 0])
            totals[kind][0] += passed
            totals[kind][1] += failed
    return totals


def as_json(kinds: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    return {kind: {"passed": passed, "failed": failed} for kind, (passed, failed) in kinds.items()}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results, names = Path(argv[0]), argv[1:]
    allow = allowed_skips()
    stages = [settle(name, results, allow) for name in names]
    stages += [settle(name, results, allow, registered=False) for name in unregistered(results, names)]
    # the shared prerequisites record no case of their own; only their exit code counts
    prepare = read_record(results / "prepare.stage")
    if prepare is not None and prepare[0] != 0:
        stage = Stage("prepare", prepare[0], round(prepare[2] - prepare[1], 1))
        stage.fail(f"the prerequisites failed (rc={prepare[0]})")
        stages.insert(0, stage)
    for stage in stages:
        for note in stage.notes:
            print(note)
    for s in stages:
        seconds = f"{s.seconds:.0f} s" if s.seconds is not None else "did not run"
        print(f"stage {s.name:<16} {s.passed:5d} passed {s.failed:4d} failed  {seconds:>11}  rc={s.rc}")
    kinds = kind_totals(stages)
    for kind, (passed, failed) in kinds.items():
        print(f"kind  {kind:<16} {passed:5d} passed {failed:4d} failed")
    passed, failed = sum(s.passed for s in stages), sum(s.failed for s in stages)
    (results / "stage-times.json").write_text(json.dumps({
        "prepare": round(prepare[2] - prepare[1], 1) if prepare else None,
        "total": round(time.time() - prepare[1], 1) if prepare else None,
        "stages": {s.name: {"seconds": s.seconds, "rc": s.rc, "passed": s.passed, "failed": s.failed,
                            "kinds": as_json(s.kinds)} for s in stages},
        "kinds": as_json(kinds),
        "passed": passed, "failed": failed,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
