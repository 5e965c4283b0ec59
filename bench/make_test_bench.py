#!/usr/bin/env python3
"""`make test`'s wall time at two commits, side by side (on demand, not part of `make test`).

    python3 bench/make_test_bench.py --before REF --after REF [--rounds 2] [--first after]

Each round runs both commits one after the other, --first first in odd rounds and last in even
ones, each in a fresh clone of this checkout, the way CI does: `make ci-services-up`,
then `make test` timed, then `make -k ci-services-down`, in a shell that inherits nothing from
a calling make. The test bed is rebuilt in every run, so run it alone. Writes
bench/results/make_test_bench.json and a Markdown summary (medians, min-max) to
bench/results/make_test_bench.md after every run; each run's output stays in WORK/<label>-<round>.log.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOTAL = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def clean_env() -> dict[str, str]:
    """A newcomer's shell: no VENV, RESULTS, MAKEFLAGS or cache PATH entries from a calling make."""
    path = ":".join(p for p in os.environ["PATH"].split(":")
                    if not p.startswith(str(ROOT)) and "agent-service-platform" not in p)
    # the machine's own Python settings (PYTHONDONTWRITEBYTECODE, PYTHONUNBUFFERED) stay, as under CI
    python = {k: v for k, v in os.environ.items() if k in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
    return {"HOME": os.environ["HOME"], "USER": os.environ.get("USER", "root"), "LANG": "C.UTF-8",
            "PATH": path, "CI": "true", **python}


def run_once(ref: str, label: str, work: Path) -> dict:
    clone = work / label
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", ref], check=True)
    commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    env = clean_env()
    log = work / f"{label}.log"
    with log.open("w") as out:
        def make(*target: str) -> int:
            # a process group of its own: stopping the bench stops the whole make tree with it
            proc = subprocess.Popen(["make", *target], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                return proc.wait()
            except BaseException:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                subprocess.run(["make", "-k", "ci-services-down"], cwd=clone, env=env, stdout=out,
                               stderr=subprocess.STDOUT, check=False)
                raise

        up = make("ci-services-up")
        start = time.monotonic()
        rc = make("test") if up == 0 else up
        wall = round(time.monotonic() - start, 1)
        make("-k", "ci-services-down")
    totals = TOTAL.findall(log.read_text(errors="replace"))
    stages = clone / ".results" / "stage-times.json"
    result = {"label": label, "ref": ref, "commit": commit, "rc": rc, "make_test_s": wall,
              "passed": int(totals[-1][0]) if totals else None, "failed": int(totals[-1][1]) if totals else None,
              "stage_times": json.loads(stages.read_text()) if stages.exists() else None, "log": str(log)}
    print(json.dumps({k: v for k, v in result.items() if k != "stage_times"}), flush=True)
    return result


def summary(runs: list[dict], which: str) -> dict:
    walls = [r["make_test_s"] for r in runs if r["label"].startswith(which)]
    return {"runs": len(walls), "median_s": statistics.median(walls) if walls else None,
            "min_s": min(walls, default=None), "max_s": max(walls, default=None),
            "all_green": all(r["rc"] == 0 for r in runs if r["label"].startswith(which))}


def interrupted(signum, frame):
    """SIGTERM (kill, timeout) unwinds like Ctrl-C, so that the make tree is stopped too."""
    raise KeyboardInterrupt(f"signal {signum}")


def write(runs: list[dict], opts: argparse.Namespace) -> dict:
    result = {"before": summary(runs, "before"), "after": summary(runs, "after"), "runs": runs,
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": os.cpu_count(),
              "planned_rounds": opts.rounds}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "make_test_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"\n## {result['at']}, {result['cores']} cores, {len(runs)} runs of {2 * opts.rounds} "
             f"(alternating rounds)\n", "| run | commit | make test (s) | result |", "|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['commit']} | {r['make_test_s']} | {r['passed']} passed, {r['failed']} failed "
              f"(rc {r['rc']}) |" for r in runs]
    for which in ("before", "after"):
        s = result[which]
        lines.append(f"\n{which}: median {s['median_s']} s, min {s['min_s']}, max {s['max_s']} over {s['runs']} runs")
    (RESULTS / "make_test_bench.md").write_text("\n".join(lines) + "\n")
    return result


def main() -> None:
    signal.signal(signal.SIGTERM, interrupted)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--first", choices=["before", "after"], default="before")
    parser.add_argument("--work", type=Path, default=Path("/tmp/make-test-bench"))
    opts = parser.parse_args()
    opts.work.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []
    for n in range(1, opts.rounds + 1):
        order = ["before", "after"] if opts.first == "before" else ["after", "before"]
        if n % 2 == 0:
            order.reverse()
        for which in order:
            runs.append(run_once(getattr(opts, which), f"{which}-{n}", opts.work))
            # written after every run, so that an interrupted bench keeps what it measured
            result = write(runs, opts)
    print(json.dumps({k: result[k] for k in ("before", "after")}, indent=2))


if __name__ == "__main__":
    main()
