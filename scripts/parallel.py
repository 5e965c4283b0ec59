#!/usr/bin/env python3
"""Run named shell commands side by side and print each one's output when it ends.

Usage: parallel.py [--jobs N] [--early-jobs K --early-until FILE] [--log-dir DIR] NAME=COMMAND ...

Commands start in the order given, at most N at once (default: all); with --early-until,
at most K at once until FILE exists (`make test` creates it when its CPU-bound stages are
done, so a lane beside them takes the CPU they leave idle without crowding them). Each
command's combined output goes to DIR/NAME.log and is printed, framed by its name, exit
code and wall time, as soon as it ends, so interleaved output never mixes. Exits 1 when
any command failed.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--early-jobs", type=int, default=0)
    parser.add_argument("--early-until", type=Path)
    parser.add_argument("--log-dir", type=Path, default=Path(".parallel-logs"))
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    opts = parser.parse_args(argv)
    todo = []
    for spec in opts.commands:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command.strip():
            parser.error(f"expected NAME=COMMAND, got {spec!r}")
        todo.append((name, command))
    if len({name for name, _ in todo}) != len(todo):
        parser.error("command names must be unique")
    if (opts.early_jobs > 0) != (opts.early_until is not None):
        parser.error("--early-jobs and --early-until go together")
    jobs = opts.jobs if opts.jobs > 0 else len(todo)

    def limit() -> int:
        if opts.early_until is not None and not opts.early_until.exists():
            return min(opts.early_jobs, jobs)
        return jobs

    opts.log_dir.mkdir(parents=True, exist_ok=True)
    running: dict[str, tuple[subprocess.Popen, float, Path]] = {}
    failed = []
    while todo or running:
        while todo and len(running) < limit():
            name, command = todo.pop(0)
            log = opts.log_dir / f"{name}.log"
            with log.open("w") as out:
                proc = subprocess.Popen(command, shell=True, stdout=out, stderr=subprocess.STDOUT)
            running[name] = (proc, time.monotonic(), log)
            print(f">> parallel: started {name} (log {log})", flush=True)
        for name, (proc, start, log) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[name]
            seconds = time.monotonic() - start
            print(f"==== {name}: begin output", flush=True)
            sys.stdout.write(log.read_text(errors="replace"))
            print(f"==== {name}: exit {proc.returncode} after {seconds:.1f}s", flush=True)
            if proc.returncode != 0:
                failed.append(name)
        time.sleep(1)
    if failed:
        print(f">> parallel: failed: {' '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
