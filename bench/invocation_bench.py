#!/usr/bin/env python3
"""Agent invocations completed per second through Celery, against a bare Celery task doing
the same tool work (on demand, not part of `make test`).

    .venv/bin/python bench/invocation_bench.py [--rounds 5] [--invocations 300] [--concurrency 2]

Both sides run side by side in one run, in alternating rounds (the order rotates every round):

- service: ``POST /v1/agents/calculator/invocations`` ("what is 6*7") to the API (uvicorn,
  started through the container entrypoint) -> Celery over a real Redis -> the worker
  (entrypoint, prefork) runs the calculator agent with the offline provider -> the
  invocation, its steps and tool call are stored in a real PostgreSQL. A round counts as
  done when every submitted invocation id is ``succeeded`` in PostgreSQL;
- bare: a Celery app of its own, one task that runs the calculator tool on "6*7", sent
  straight to the same Redis, consumed by a worker with the service worker's pool settings
  (prefork, the same concurrency, prefetch multiplier 1, late acks, 500 tasks per child),
  its result stored in the same Redis. A round counts as done when every task id has its
  result (SUCCESS, 42) in the result backend.

Throughput of a round = invocations / (last completion time stamp, as stored by the worker
- first submission). Submission is a burst (faster than either side completes), so the
workers are the bottleneck. Ports: PostgreSQL 58075, Redis 58076, API 58077, worker metrics 58078.
Writes bench/results/invocation_bench.json and appends one Markdown line to
bench/results/invocation_bench.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import (  # noqa: E402
    ENQUEUE_BODY,
    Stack,
    alternate,
    fmt,
    git_commit,
    open_loop_posts,
    running_stack,
    spread,
    wait_port,
    write_results,
)
from tests.conftest import wait_for  # noqa: E402

PG_PORT, REDIS_PORT, API_PORT = 58075, 58076, 58077
BARE_QUEUE = "bench-bare"
EXPRESSION = "6*7"
BARE_TASK = "bench.calculate"
PATH = "/v1/agents/calculator/invocations"

# The bare side: Celery defaults but for the pool settings the service worker also uses.
BARE_CELERY = f'''
import os

from celery import Celery

from app.agents.tools import TOOLS

url = os.environ["BENCH_REDIS_URL"]
app = Celery("bench_bare", broker=url, backend=url)
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    task_acks_late=True, worker_prefetch_multiplier=1, worker_max_tasks_per_child=500,
    task_default_queue="{BARE_QUEUE}", result_expires=3600,
)


@app.task(name="{BARE_TASK}")
def calculate(expression):
    return TOOLS["calculator"].run({{"expression": expression}})
'''


def redis_url(stack: Stack) -> str:
    return f"redis://:{stack.redis.password}@127.0.0.1:{stack.redis.port}/0"


class ServiceSide:
    def __init__(self, stack: Stack, count: int, timeout: float) -> None:
        import psycopg

        self.count, self.timeout = count, timeout
        self.db = psycopg.connect(host="127.0.0.1", port=stack.pg.port, user=stack.pg.user,
                                  password=stack.pg.password, dbname="agent_service", autocommit=True)

    def finished(self, ids: list[uuid.UUID]) -> tuple[int, int, datetime | None]:
        """(succeeded, finished otherwise, the last finished_at) of the given invocations."""
        row = self.db.execute(
            "SELECT count(*) FILTER (WHERE status = 'succeeded'), "
            "count(*) FILTER (WHERE status IN ('failed', 'timeout')), max(finished_at) "
            "FROM invocations WHERE id = ANY(%s)", (ids,)).fetchone()
        return row[0], row[1], row[2]

    def __call__(self, count: int | None = None) -> float:
        count = count or self.count
        start = time.time()
        # a burst: 32 connections, far faster than the worker completes
        _, answers, errors = asyncio.run(open_loop_posts(API_PORT, PATH, ENQUEUE_BODY, 2000, count / 2000))
        if errors or len(answers) != count:
            raise RuntimeError(f"{errors} of {count} invocations were not accepted (202)")
        ids = [uuid.UUID(json.loads(answer)["id"]) for answer in answers]
        if len(set(ids)) != count:
            raise RuntimeError("the API answered the same invocation id twice")

        def done() -> datetime | None:
            succeeded, other, last = self.finished(ids)
            if other:
                raise RuntimeError(f"{other} invocations ended other than succeeded")
            return last if succeeded == count else None

        last = wait_for(done, self.timeout, interval=0.05, message=f"{count} invocations to succeed")
        return count / (last.timestamp() - start)


class BareSide:
    def __init__(self, stack: Stack, count: int, timeout: float) -> None:
        from celery import Celery

        self.count, self.timeout = count, timeout
        self.client = Celery("bench_client", broker=redis_url(stack), backend=redis_url(stack))
        self.client.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
        self.redis = stack.redis.client()

    def results(self, ids: list[str]) -> list[dict[str, object] | None]:
        raw = self.redis.mget([f"celery-task-meta-{task_id}" for task_id in ids])
        return [json.loads(value) if value else None for value in raw]

    def __call__(self, count: int | None = None) -> float:
        count = count or self.count
        start = time.time()
        ids = [self.client.send_task(BARE_TASK, args=[EXPRESSION], queue=BARE_QUEUE).id for _ in range(count)]

        def done() -> list[dict[str, object]] | None:
            metas = self.results(ids)
            return metas if all(metas) else None  # type: ignore[return-value]

        metas = wait_for(done, self.timeout, interval=0.05, message=f"{count} bare task results")
        wrong = [m for m in metas if m["status"] != "SUCCESS" or m["result"] != {"expression": EXPRESSION, "value": 42}]
        if wrong:
            raise RuntimeError(f"{len(wrong)} bare tasks did not return 42, e.g. {wrong[0]}")
        last = max(datetime.fromisoformat(str(m["date_done"])) for m in metas)
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return count / (last.timestamp() - start)


MD_HEADER = (
    "| date | commit | invocations/round | worker concurrency | service /s, median (min-max) | "
    "bare Celery /s, median (min-max) | service/bare |\n|---|---|---|---|---|---|---|\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--invocations", type=int, default=300, help="invocations (tasks) per round and side")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children of each worker")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one round may take")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5 (the median of >= 5 rounds is reported)")

    with running_stack(pg_port=PG_PORT, redis_port=REDIS_PORT, LOG_LEVEL="WARNING",
                       CELERY_CONCURRENCY=str(args.concurrency)) as stack:
        stack.entrypoint("api", "api", API_HOST="127.0.0.1", API_PORT=str(API_PORT))
        stack.entrypoint("worker", "worker", METRICS_HOST="127.0.0.1", METRICS_PORT="58078")
        (stack.work / "bench_bare.py").write_text(BARE_CELERY)
        stack.spawn("bare", [sys.executable, "-m", "celery", "-A", "bench_bare", "worker", "--queues", BARE_QUEUE,
                             "--concurrency", str(args.concurrency), "--loglevel", "WARNING",
                             "--without-mingle", "--without-gossip"],
                    env={"BENCH_REDIS_URL": redis_url(stack),
                         "PYTHONPATH": f"{stack.work}:{stack.env['PYTHONPATH']}"})
        wait_port(API_PORT)
        wait_for(lambda: (stack.work / "worker_ready").exists(), 120, message="the service worker to be ready")
        service = ServiceSide(stack, args.invocations, args.timeout)
        bare = BareSide(stack, args.invocations, args.timeout)
        # warm-up: pools, connections, imports in the prefork children
        service(20)
        bare(20)
        rates = alternate({"service": service, "bare_celery": bare}, args.rounds)

    median_service, median_bare = (statistics.median(rates[name]) for name in ("service", "bare_celery"))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "invocations_per_round": args.invocations, "rounds": args.rounds, "worker_concurrency": args.concurrency,
        "input": json.loads(ENQUEUE_BODY)["input"], "agent": "calculator", "provider": "offline",
        "service_per_s": spread(rates["service"]),
        "bare_celery_per_s": spread(rates["bare_celery"]),
        "ratio_service_to_bare": round(median_service / median_bare, 3),
        "per_round_ratio": spread([s / b for s, b in zip(rates["service"], rates["bare_celery"], strict=True)], 3),
    }
    line = (f"| {result['date']} | {result['commit']} | {args.invocations} | {args.concurrency} | "
            f"{fmt(result['service_per_s'])} | {fmt(result['bare_celery_per_s'])} | "
            f"{result['ratio_service_to_bare']} |\n")
    write_results("invocation_bench", result, MD_HEADER, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
