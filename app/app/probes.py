"""Exec probes for the worker container.

    python -m app.probes liveness    # heartbeat file touched within WORKER_HEARTBEAT_MAX_AGE
    python -m app.probes readiness   # ready file present (written when the worker consumes)

Exit 0 when healthy, 1 otherwise (2 on bad usage or settings), with one line of
explanation. It reads its two settings straight from the environment (``ProbeSettings``),
without pydantic or Celery, so that a probe that runs every few seconds in every worker pod
stays cheap (bench/results/notes.md)."""
from __future__ import annotations

import sys

from app.worker import state


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("liveness", "readiness"):
        print("usage: python -m app.probes liveness|readiness", file=sys.stderr)
        return 2
    try:
        settings = state.ProbeSettings.from_environ()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if argv[0] == "liveness":
        age = state.heartbeat_age(settings)
        if age is None:
            print(f"no heartbeat file in {settings.WORKER_STATE_DIR}")
            return 1
        if age > settings.WORKER_HEARTBEAT_MAX_AGE:
            print(f"heartbeat is {age:.0f}s old (max {settings.WORKER_HEARTBEAT_MAX_AGE}s)")
            return 1
        print(f"alive: heartbeat {age:.1f}s old")
        return 0
    if not state.is_ready(settings):
        print(f"not ready: no ready file in {settings.WORKER_STATE_DIR}")
        return 1
    print("ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
