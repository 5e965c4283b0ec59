#!/usr/bin/env python3
"""P6: test bed and test-suite times (on demand, not part of `make test`).

    .venv/bin/python bench/testbed_bench.py [--rounds 3]

1. ``make cluster-down && make cluster`` ROUNDS times with warm caches: the wall time of
   ``make cluster`` and the time to all-Ready that the test bed prints; medians reported.
   This stops whatever runs on the test bed: run it alone.
2. The stage times and total of the last ``make test`` (``.results/stage-times.json``, written
   by scripts/results_total.py) and the cold ``make tools images`` (bench/results/cold_build.json,
   bench/cold_build.sh), when present.
Writes bench/results/testbed_bench.json and appends a Markdown line to testbed_bench.md.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def make(*targets: str) -> str:
    proc = subprocess.run(["make", "-s", *targets], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"make {' '.join(targets)} failed: {(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout


def read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    walls, ready = [], []
    for _ in range(opts.rounds):
        make("cluster-down")
        start = time.monotonic()
        out = make("cluster")
        walls.append(round(time.monotonic() - start, 1))
        found = re.search(r"all Ready in ([0-9.]+)s", out)
        if not found:
            raise SystemExit(f"make cluster did not report all-Ready: {out[-2000:]}")
        ready.append(float(found.group(1)))
    result = {
        "rounds": opts.rounds,
        "make_cluster_seconds": walls,
        "all_ready_seconds": ready,
        "make_cluster_median": statistics.median(walls),
        "all_ready_median": statistics.median(ready),
        "last_make_test": read(ROOT / ".results" / "stage-times.json"),
        "cold_tools_images": read(RESULTS / "cold_build.json"),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "testbed_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    test = result["last_make_test"] or {}
    cold = result["cold_tools_images"] or {}
    with (RESULTS / "testbed_bench.md").open("a") as out:
        out.write(f"- {result['at']}: make cluster (warm) median {result['make_cluster_median']} s, all-Ready "
                  f"{result['all_ready_median']} s; last make test {test.get('total', '?')} s "
                  f"({test.get('passed', '?')} passed, {test.get('failed', '?')} failed); cold make tools images "
                  f"{cold.get('total_s', '?')} s\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
