#!/usr/bin/env python3
"""Revert matching of semver_next's commit classifier at two commits, side by side.

    python3 bench/revert_bench.py [--before REF] [--commits 10000] [--rounds 3]

Builds a history of COMMITS Conventional Commits and as many reverts (half name their target's
full sha, a quarter its header, a quarter are GitHub's `Revert "<header>" (#n)`), newest first as git
log prints it, then classifies it with plugins/module_utils/conventional_commits.py of REF and of
the working tree, alternating, ROUNDS times each. Both must mark the same commits. Writes
bench/results/revert_bench.json and appends the medians and min-max to revert_bench.md.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODULE_UTILS = "plugins/module_utils"


def load(package: str, sources: dict[str, str], where: Path):
    """conventional_commits from the given file texts, as package.conventional_commits."""
    pkg = where / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in sources.items():
        (pkg / name).write_text(text)
    sys.path.insert(0, str(where))
    return importlib.import_module(f"{package}.conventional_commits")


def sources_at(ref: str | None) -> dict[str, str]:
    names = ("conventional_commits.py", "semver.py")
    if ref is None:
        return {n: (ROOT / MODULE_UTILS / n).read_text() for n in names}
    return {n: subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{MODULE_UTILS}/{n}"], check=True,
                              capture_output=True, text=True).stdout for n in names}


def sha(n: int) -> str:
    """A sha as git makes them: 40 hex digits that differ from the first."""
    return hashlib.sha1(str(n).encode()).hexdigest()


def history(module, count: int, seed: int = 20261206):
    rng = random.Random(seed)
    commits = []  # oldest first while building
    for n in range(count):
        commits.append(module.Commit(sha(n), f"{rng.choice(['feat', 'fix', 'perf', 'chore'])}: change {n}"))
    targets = list(commits)
    rng.shuffle(targets)
    for n, target in enumerate(targets):
        header = target.message.splitlines()[0]
        style = n % 4
        if style in (0, 1):
            message = f'Revert "{header}"\n\nThis reverts commit {target.sha}.'
        elif style == 2:
            message = f"revert: {header}"
        else:
            message = f'Revert "{header}" (#{n})'
        commits.append(module.Commit(sha(count + n), message))
    return list(reversed(commits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="13cea7d")
    parser.add_argument("--commits", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        modules = {"before": load("cc_before", sources_at(opts.before), Path(tmp)),
                   "after": load("cc_after", sources_at(None), Path(tmp))}
        times: dict[str, list[float]] = {"before": [], "after": []}
        marks = {}
        for n in range(opts.rounds):
            for which in (["before", "after"] if n % 2 == 0 else ["after", "before"]):
                module = modules[which]
                commits = history(module, opts.commits)
                start = time.perf_counter()
                entries = module.classify(commits)
                times[which].append(round(time.perf_counter() - start, 3))
                marks[which] = [e["ignored"] for e in entries]
    # every commit is reverted once, in range: each pair cancels. The before side does not read
    # GitHub's "(#n)" suffix, so it leaves those reverts and their targets standing.
    expected = ["reverts-in-range"] * opts.commits + ["reverted"] * opts.commits
    if marks["after"] != expected:
        raise SystemExit(f"the working tree left {sum(m is None for m in marks['after'])} commits unmatched")
    agree = sum(a == b for a, b in zip(marks["before"], marks["after"], strict=True))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    result = {"commits": opts.commits, "reverts": opts.commits, "rounds": opts.rounds, "before_ref": opts.before,
              "after_commit": commit, "seconds": times,
              "median": {k: statistics.median(v) for k, v in times.items()},
              "min_max": {k: [min(v), max(v)] for k, v in times.items()},
              "after_cancelled_pairs": marks["after"].count("reverted"),
              "markers_agreeing": agree, "entries": len(marks["after"]),
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "revert_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    with (RESULTS / "revert_bench.md").open("a") as out:
        out.write(f"- {result['at']}, {opts.commits} commits + {opts.commits} reverts, {opts.rounds} alternating "
                  f"rounds: {opts.before} median {result['median']['before']} s "
                  f"(min-max {result['min_max']['before']}), {commit} median {result['median']['after']} s "
                  f"(min-max {result['min_max']['after']}); {result['after_cancelled_pairs']} pairs cancelled, "
                  f"{agree}/{len(marks['after'])} markers as before\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
