"""Where a deploy's time goes: the per-task profile of bench/release_bench.py's pipeline runs.

The runs print through the ``ansible.posix.json`` stdout callback, which records each task's
start and end. ``timeline`` turns one run's output into its tasks' seconds plus what lies outside
them: Ansible's start (process start to the first task), the gaps between tasks (templating,
includes, result processing) and its end (the last task to the process exit). ``write`` puts the
median and spread over the rounds in bench/results/release_profile.{json,md}, for the runs that
release and for the no-change re-runs side by side.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime

OUTSIDE = ("ansible start", "between tasks", "ansible end")


def _ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def stage_of(name):
    """The stage of a task named "[<role> : ]<Stage> | <what>"; Ansible's own tasks and the includes
    are "(role)"."""
    name = name.split(" : ", 1)[-1]
    return name.split(" | ", 1)[0] if " | " in name else "(role)"


def timeline(output, started, ended):
    """One run: {"tasks": [[stage, name, seconds], ...], "outside": {...}, "wall": s, "changed": n}."""
    tasks, gaps, previous_end = [], 0.0, None
    for play in output["plays"]:
        for entry in play["tasks"]:
            duration = entry["task"]["duration"]
            start, end = _ts(duration["start"]), _ts(duration.get("end", duration["start"]))
            if previous_end is not None:
                gaps += max(0.0, start - previous_end)
            previous_end = end
            name = entry["task"]["name"]
            tasks.append([stage_of(name), name.split(" : ", 1)[-1], round(end - start, 3)])
    first = _ts(output["plays"][0]["tasks"][0]["task"]["duration"]["start"]) if tasks else ended
    return {"tasks": tasks,
            "outside": {"ansible start": round(first - started, 3), "between tasks": round(gaps, 3),
                        "ansible end": round(ended - (previous_end or ended), 3)},
            "wall": round(ended - started, 3),
            "changed": sum(host.get("changed", 0) for host in output["stats"].values())}


def spread(values):
    """[median, min, max]; a task that did not run in a round counts 0 s there."""
    return [round(statistics.median(values), 2), round(min(values), 2), round(max(values), 2)]


def summary(runs):
    """Median and spread per stage (with Ansible's own time as three rows), and per task."""
    stages, tasks = defaultdict(lambda: [0.0] * len(runs)), defaultdict(lambda: [0.0] * len(runs))
    for i, run in enumerate(runs):
        for stage, name, seconds in run["tasks"]:
            stages[stage][i] += seconds
            tasks[name][i] += seconds
        for key, seconds in run["outside"].items():
            stages[key][i] += seconds
    return {"rounds": len(runs),
            "wall": spread([r["wall"] for r in runs]),
            "tasks_run": spread([len(r["tasks"]) for r in runs]),
            "stages": {k: spread(v) for k, v in sorted(stages.items(), key=lambda kv: -statistics.median(kv[1]))},
            "tasks": {k: spread(v) for k, v in sorted(tasks.items(), key=lambda kv: -statistics.median(kv[1]))}}


def _row(label, cell):
    return f"| {label} | {cell[0]} [{cell[1]}-{cell[2]}] |"


def write(results, at, commit, sides, top=20):
    """bench/results/release_profile.{json,md}: ``sides`` maps a title to its runs' timelines."""
    data = {"at": at, "commit": commit, **{title: summary(runs) for title, runs in sides.items() if runs}}
    (results / "release_profile.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [f"# Release pipeline profile ({at}, {commit})", "",
             "Written by `make release-bench` (bench/release_bench.py, bench/release_profile.py) from the",
             "`ansible.posix.json` callback's task times; seconds, median [min-max] over the rounds.",
             "`ansible start`, `between tasks` and `ansible end` are Ansible's own time outside the tasks.", ""]
    for title, side in data.items():
        if not isinstance(side, dict):
            continue
        lines += [f"## {title}: {side['rounds']} runs, wall {side['wall'][0]} s [{side['wall'][1]}-{side['wall'][2]}], "
                  f"{side['tasks_run'][0]} tasks run", "", "| stage | seconds |", "|---|---|"]
        lines += [_row(k, v) for k, v in side["stages"].items()]
        lines += ["", f"The {top} slowest tasks:", "", "| task | seconds |", "|---|---|"]
        lines += [_row(k.replace("|", "/"), v) for k, v in list(side["tasks"].items())[:top]]
        lines.append("")
    (results / "release_profile.md").write_text("\n".join(lines))
    return data
