"""Metrics scrape: every metric name of the seed's reference, with the labels fixed in
docs/interfaces.md, from the real worker's exporter (multiprocess across prefork
children) and from a real uvicorn API process; and the worker's exec probes."""
from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest
from app.metrics import METRIC_LABELS
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import APP_DIR, Proc, start_api, start_process, wait_for

pytestmark = pytest.mark.usefixtures("worker")
SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total")


def scrape(url: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        name = family.name + ("_total" if family.type == "counter" else "")
        families[name] = [(s.name, s.labels, s.value) for s in family.samples]
    return families


def label_names(samples: list[tuple[str, dict[str, str], float]]) -> set[frozenset[str]]:
    return {frozenset(k for k in labels if k != "le") for _, labels, _ in samples}


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items()))


@pytest.fixture()
def api(base_env: dict[str, str]) -> Proc:
    proc = start_api("api-metrics", {**base_env, "RATE_LIMIT_PER_MINUTE": "50"}, port=58002)
    yield proc
    # SIGTERM reaches uvicorn (exec): graceful shutdown, then uvicorn re-raises the signal
    assert proc.stop() in (0, -15), proc.output()[-3000:]
    assert "Application shutdown complete" in proc.output()


def test_every_metric_with_its_labels(api: Proc, worker: Proc) -> None:
    from app.worker.celery_app import TASK_RUN_INVOCATION, celery_app

    base = "http://127.0.0.1:58002"
    ok = httpx.post(f"{base}/v1/agents/assistant/invocations?wait=20", json={"input": "what is 1+2; time"}).json()
    bad = httpx.post(f"{base}/v1/agents/assistant/invocations?wait=20", json={"input": "lookup nope"}).json()
    assert (ok["status"], bad["status"]) == ("succeeded", "failed")
    httpx.get(f"{base}/v1/invocations/{ok['id']}")
    httpx.get(f"{base}/v1/invocations/{uuid.uuid4()}")
    celery_app.send_task(TASK_RUN_INVOCATION, args=["not-a-uuid"], queue="agents")  # fails in the worker

    worker_url = "http://127.0.0.1:58090/metrics"
    wait_for(lambda: value(scrape(worker_url)["celery_task_failed_total"], "celery_task_failed_total",
                           task=TASK_RUN_INVOCATION) >= 1, timeout=20, message="the failed task to be counted")
    api_metrics, worker_metrics = scrape(f"{base}/metrics"), scrape(worker_url)

    for name in ("http_requests_total", "http_request_duration_seconds", "http_requests_in_progress",
                 "rate_limit_remaining"):
        assert name in api_metrics, name
        assert label_names(api_metrics[name]) == {frozenset(METRIC_LABELS[name])}, name
    for name in ("celery_workers_active", "celery_queue_length", "celery_task_total", "celery_task_failed_total",
                 "celery_task_runtime_seconds", "agent_invocation_total", "agent_response_time_seconds",
                 "tool_invocation_total"):
        assert name in worker_metrics, name
        assert label_names(worker_metrics[name]) == {frozenset(METRIC_LABELS[name])}, name
    assert set(METRIC_LABELS) <= set(api_metrics) | set(worker_metrics)

    http = api_metrics["http_requests_total"]
    assert value(http, "http_requests_total", method="POST", handler="/v1/agents/{agent}/invocations",
                 status="200") == 2
    assert value(http, "http_requests_total", handler="/v1/invocations/{invocation_id}", status="404") == 1
    assert value(api_metrics["rate_limit_remaining"], "rate_limit_remaining", scope="client") == 46
    assert value(worker_metrics["celery_workers_active"], "celery_workers_active") == 1
    assert {lab["queue"] for _, lab, _ in worker_metrics["celery_queue_length"]} == {"default", "agents", "priority"}
    # counted in the prefork children, summed by the exporter in the main process
    tasks = worker_metrics["celery_task_total"]
    assert value(tasks, "celery_task_total", task=TASK_RUN_INVOCATION, queue="agents", status="succeeded") >= 2
    assert value(tasks, "celery_task_total", task=TASK_RUN_INVOCATION, status="failed") >= 1
    agents = worker_metrics["agent_invocation_total"]
    assert value(agents, "agent_invocation_total", agent="assistant", status="succeeded") >= 1
    assert value(agents, "agent_invocation_total", agent="assistant", status="failed") >= 1
    tools = worker_metrics["tool_invocation_total"]
    assert value(tools, "tool_invocation_total", tool="calculator", status="ok") >= 1
    assert value(tools, "tool_invocation_total", tool="lookup", status="error") >= 1
    assert value(worker_metrics["celery_task_runtime_seconds"], "celery_task_runtime_seconds_count",
                 task=TASK_RUN_INVOCATION, queue="agents") >= 2
    assert value(worker_metrics["agent_response_time_seconds"], "agent_response_time_seconds_count",
                 agent="assistant") >= 2


def test_queue_length_counts_waiting_messages(base_env: dict[str, str], redis_server) -> None:  # type: ignore[no-untyped-def]
    """Real task messages published to Redis database 3, which no worker consumes, are
    counted per queue by the exporter's collector (including Redis priority sub-lists)."""
    from app.core.config import Settings
    from app.worker.celery_app import TASK_RUN_INVOCATION, celery_config
    from app.worker.exporter import CeleryStateCollector
    from celery import Celery

    settings = Settings(**{**base_env, "REDIS_DB": "3"})
    publisher = Celery("queue-length-test")
    publisher.conf.update(celery_config(settings))
    try:
        for queue, count in (("agents", 3), ("priority", 2)):
            for _ in range(count):
                publisher.send_task(TASK_RUN_INVOCATION, args=[str(uuid.uuid4())], queue=queue)
        publisher.send_task(TASK_RUN_INVOCATION, args=[str(uuid.uuid4())], queue="priority", priority=5)
        families = {f.name: f for f in CeleryStateCollector(settings).collect()}
        lengths = {s.labels["queue"]: s.value for s in families["celery_queue_length"].samples}
        assert lengths == {"default": 0, "agents": 3, "priority": 3}
    finally:
        publisher.close()
        redis_server.client(db=3).flushdb()


def probe(kind: str, state_dir: str, **extra: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "WORKER_STATE_DIR": state_dir, "PYTHONPATH": str(APP_DIR), **extra}
    return subprocess.run([sys.executable, "-m", "app.probes", kind], env=env, capture_output=True, text=True,
                          cwd=APP_DIR)


def test_probe_settings_read_the_environment_as_settings_does() -> None:
    from app.core.config import Settings
    from app.worker.state import ProbeSettings

    assert ProbeSettings.from_environ({}) == (Settings.model_fields["WORKER_STATE_DIR"].default,
                                              Settings.model_fields["WORKER_HEARTBEAT_MAX_AGE"].default)
    env = {"worker_state_dir": "/var/w", "WORKER_HEARTBEAT_MAX_AGE": "30", "OTHER": ""}
    assert ProbeSettings.from_environ(env) == ("/var/w", 30)
    assert ProbeSettings.from_environ({"WORKER_STATE_DIR": "", "WORKER_HEARTBEAT_MAX_AGE": ""}) == ("/tmp", 60)
    for bad in ("1", "soon"):
        with pytest.raises(ValueError, match="WORKER_HEARTBEAT_MAX_AGE"):
            ProbeSettings.from_environ({"WORKER_HEARTBEAT_MAX_AGE": bad})


def test_probes_do_not_import_pydantic_or_celery(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {**os.environ, "WORKER_STATE_DIR": str(tmp_path), "PYTHONPATH": str(APP_DIR)}
    code = "\n".join([
        "import runpy, sys",
        "sys.argv = ['probes', 'readiness']",
        "try:",
        "    runpy.run_module('app.probes', run_name='__main__')",
        "except SystemExit:",
        "    pass",
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'celery', 'app')))",
    ])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=APP_DIR, check=True)
    # app.probes itself runs as __main__
    assert out.stdout.strip().splitlines()[-1] == (
        "['app', 'app.core', 'app.core.defaults', 'app.worker', 'app.worker.state']"), out.stdout


def test_worker_probes(worker: Proc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = str(worker.workdir / "state")
    live, ready = probe("liveness", state), probe("readiness", state)
    assert (live.returncode, ready.returncode) == (0, 0), (live.stdout, ready.stdout)
    assert probe("liveness", str(tmp_path)).returncode == 1
    assert probe("readiness", str(tmp_path)).returncode == 1
    assert probe("bogus", state).returncode == 2
    bad = probe("liveness", state, WORKER_HEARTBEAT_MAX_AGE="soon")
    assert bad.returncode == 2 and "WORKER_HEARTBEAT_MAX_AGE" in bad.stderr
    assert httpx.get("http://127.0.0.1:58090/health").status_code == 200


def test_worker_warm_shutdown_on_sigterm(base_env: dict[str, str]) -> None:
    """SIGTERM reaches celery (exec): the running task finishes, the ready file goes, exit 0."""
    from tests.conftest import start_worker

    w = start_worker("w-term", {**base_env, "CELERY_QUEUES": "default", "REDIS_DB": "2"}, metrics_port=58091,
                     concurrency=1)
    ready = w.workdir / "state" / "worker_ready"
    assert ready.exists()
    assert w.stop() == 0, w.output()[-3000:]
    assert not ready.exists()


def test_beat_runs_with_its_schedule_in_the_state_dir(base_env: dict[str, str]) -> None:
    beat = start_process("beat", ["beat"], {**base_env, "REDIS_DB": "2"})
    schedule = beat.workdir / "state" / "celerybeat-schedule"
    try:
        wait_for(lambda: any(p.name.startswith("celerybeat-schedule") for p in schedule.parent.glob("*")),
                 timeout=30, message="the beat schedule file")
        assert beat.alive(), beat.output()[-3000:]
    finally:
        assert beat.stop() in (0, -15), beat.output()[-3000:]


def test_flower_serves_the_workers(base_env: dict[str, str], worker: Proc) -> None:
    flower = start_process("flower", ["flower"], {**base_env, "FLOWER_ADDRESS": "127.0.0.1", "FLOWER_PORT": "58070"})
    try:
        def healthy() -> bool:
            try:
                return httpx.get("http://127.0.0.1:58070/healthcheck", timeout=2).text == "OK"
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=60, interval=0.5, message="flower")
        assert "flower_events_total" in httpx.get("http://127.0.0.1:58070/metrics", timeout=5).text
    finally:
        flower.stop()
