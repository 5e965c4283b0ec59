#!/usr/bin/env python3
"""semver_next's logic against python-semantic-release and commitizen, side by side.

Builds a 10,000-commit repository with Conventional Commits messages (git
fast-import), tagged v1.0.0 on the first commit, then asks each tool for the
next version several times, interleaved, and writes the medians to
bench/results/semver_bench.{json,md}. All three must agree on the version.

Run with `make semver-bench` (pinned tools in bench/requirements-semver.txt,
installed into .cache/bench-venv).

  semver_bench.py [--commits N] [--repeats N]
  semver_bench.py --ours PATH       (our CLI: prints the next version of PATH)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GIT_ENV = dict(GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="Bench",
               GIT_COMMITTER_EMAIL="bench@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")

PYPROJECT = """\
[project]
name = "bench"
version = "1.0.0"

[tool.semantic_release]
tag_format = "v{version}"
commit_parser = "conventional"
allow_zero_version = false
major_on_zero = false

[tool.semantic_release.branches.main]
match = "main"
prerelease = false

[tool.commitizen]
name = "cz_conventional_commits"
version = "1.0.0"
tag_format = "v$version"
version_scheme = "semver2"
major_version_zero = false
"""


def collection_path() -> None:
    colls = Path(os.environ.get("ANSIBLE_COLLECTIONS_PATH", ROOT / ".cache" / "collections"))
    link = colls / "ansible_collections" / "agent_service" / "platform"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    sys.path.insert(0, str(colls))


def ours(path: str) -> str:
    """The semver_next module's logic (release_plan.plan_release) outside Ansible."""
    collection_path()
    from ansible_collections.agent_service.platform.plugins.module_utils.git import GitRepo, GitRunner
    from ansible_collections.agent_service.platform.plugins.module_utils.release_plan import plan_release
    from ansible_collections.agent_service.platform.plugins.module_utils.runner import subprocess_run_command

    repo = GitRepo(GitRunner(shutil.which("git"), subprocess_run_command, {"LC_ALL": "C"}), path)
    return plan_release(repo, {})["next_version"]


def messages(count: int, seed: int = 20260101):
    rng = random.Random(seed)
    kinds = (["fix"] * 40 + ["feat"] * 20 + ["chore"] * 12 + ["docs"] * 8 + ["refactor"] * 8 + ["perf"] * 5
             + ["test"] * 6 + ["ci"])
    scopes = [None, "api", "worker", "chart", "db"]
    for i in range(count):
        kind = rng.choice(kinds)
        scope = rng.choice(scopes)
        head = f"{kind}({scope})" if scope else kind
        body = f"\n\nDetails of change {i}: adjust {rng.randint(1, 999)} lines."
        if i % 997 == 500:
            head += "!"  # a few breaking changes: every tool must answer 2.0.0
            body += "\n\nBREAKING-CHANGE: configuration key renamed"
        yield f"{head}: change number {i}{body}"


def build_repo(path: Path, count: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env={**os.environ, **GIT_ENV})
    lines = []
    stamp = 1767225600  # 2026-01-01
    for i, msg in enumerate(["chore: initial import"] + list(messages(count - 1))):
        data = msg.encode()
        content = f"{i}\n".encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"mark :{i + 1}\n".encode())
        lines.append(f"committer Bench <bench@example.com> {stamp + i * 60} +0000\n".encode())
        lines.append(f"data {len(data)}\n".encode() + data + b"\n")
        if i > 0:
            lines.append(f"from :{i}\n".encode())
        else:
            cfg = PYPROJECT.encode()
            lines.append(f"M 644 inline pyproject.toml\ndata {len(cfg)}\n".encode() + cfg + b"\n")
        lines.append(f"M 644 inline counter.txt\ndata {len(content)}\n".encode() + content + b"\n")
    lines.append(b"reset refs/tags/v1.0.0\nfrom :1\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(lines), check=True,
                   env={**os.environ, **GIT_ENV})
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True, env={**os.environ, **GIT_ENV})
    # python-semantic-release reads the remote's URL for its links; it is never contacted.
    subprocess.run(["git", "remote", "add", "origin", "https://example.invalid/bench/repo.git"], cwd=path,
                   check=True, env={**os.environ, **GIT_ENV})


def tool_commands(repo: Path) -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    return {
        "semver_next (ours)": [sys.executable, str(Path(__file__).resolve()), "--ours", str(repo)],
        "python-semantic-release": [str(bindir / "semantic-release"), "--noop", "version", "--print"],
        "commitizen": [str(bindir / "cz"), "bump", "--get-next", "--yes"],
    }


def run_tool(cmd: list[str], repo: Path) -> tuple[float, str]:
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}")
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    return elapsed, lines[-1] if lines else ""


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ours", metavar="PATH")
    args = parser.parse_args()
    if args.ours:
        print(ours(args.ours))
        return 0

    work = Path(tempfile.mkdtemp(prefix="semver-bench-"))
    try:
        repo = work / "repo"
        t0 = time.perf_counter()
        build_repo(repo, args.commits)
        build_seconds = time.perf_counter() - t0
        commands = tool_commands(repo)
        timings: dict[str, list[float]] = {name: [] for name in commands}
        answers: dict[str, str] = {}
        for _ in range(args.repeats):
            for name, cmd in commands.items():  # interleaved, so load changes hit every tool alike
                elapsed, answer = run_tool(cmd, repo)
                timings[name].append(elapsed)
                answers[name] = answer
        # in-process: the logic alone, without interpreter start-up
        collection_path()
        inproc = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ours(str(repo))
            inproc.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in timings.items()}
    base = medians["semver_next (ours)"]
    result = dict(
        commits=args.commits, repeats=args.repeats, repo_build_seconds=round(build_seconds, 3),
        answers=answers, agree=len(set(answers.values())) == 1,
        median_seconds={k: round(v, 4) for k, v in medians.items()},
        ratio_vs_ours={k: round(v / base, 2) for k, v in medians.items()},
        ours_in_process_median_seconds=round(statistics.median(inproc), 4),
        all_seconds={k: [round(x, 4) for x in v] for k, v in timings.items()},
        versions={"python-semantic-release": version_of("python-semantic-release"),
                  "commitizen": version_of("commitizen"), "git": subprocess.run(
                      ["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()},
        python=platform.python_version(), machine=f"{platform.machine()}, {os.cpu_count()} cpus",
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "semver_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [f"| {name} | {answers[name]} | {medians[name]:.3f} | {medians[name] / base:.2f} |" for name in commands]
    md = "\n".join([
        f"# semver_next vs python-semantic-release vs commitizen ({args.commits} commits since v1.0.0)",
        "",
        f"Median of {args.repeats} interleaved CLI runs each (interpreter start-up included).",
        f"semver_next's logic in-process: {result['ours_in_process_median_seconds']:.3f} s.",
        "",
        "| tool | next version | median s | × ours |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Versions: {result['versions']}; Python {result['python']}; {result['machine']}.",
        "",
    ])
    (RESULTS / "semver_bench.md").write_text(md)
    print(md)
    if not result["agree"]:
        print(f"the tools disagree: {answers}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
