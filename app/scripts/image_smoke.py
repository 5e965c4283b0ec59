#!/usr/bin/env python3
"""Smoke test of the built image (not part of `make test`; run by `make app-image-smoke`).

    python app/scripts/image_smoke.py localhost/agent-service:<tag>

Starts PostgreSQL and Redis on loopback (58080/58081), then runs the image the way the
chart does (UID 10001, read-only root filesystem with a /tmp tmpfs, no capabilities):
`migrate`, then `api` (58082) and `worker` (metrics 58083) with host networking. Checks
an invocation end to end, the worker's exec probes and metrics, and that `docker stop`
(SIGTERM) ends api and worker quickly (the entrypoint exec's them as PID 1)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP_DIR))

from tests.services import Postgres, Redis  # noqa: E402

RUN = ["docker", "run", "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,uid=10001,gid=10001,mode=1777",
       "--user", "10001:10001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


def http(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


def check(label: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        raise SystemExit(1)


def main(image: str) -> int:
    pg, redis_srv = Postgres(58080), Redis(58081)
    names: list[str] = []
    try:
        pg.init()
        pg.admin("CREATE DATABASE agent_service")
        redis_srv.start()
        env = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "58080", "POSTGRES_USER": pg.user,
               "POSTGRES_PASSWORD": pg.password, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "58081",
               "REDIS_PASSWORD": redis_srv.password, "API_HOST": "127.0.0.1", "API_PORT": "58082",
               "METRICS_HOST": "127.0.0.1", "METRICS_PORT": "58083"}
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        uid = subprocess.run([*RUN[:1], "run", "--rm", "--user", "10001:10001", image, "id", "-u"],
                             capture_output=True, text=True)
        check("runs as UID 10001", uid.stdout.strip() == "10001", uid.stdout.strip() or uid.stderr[-300:])
        migrate = subprocess.run([*RUN, "--rm", *env_args, image, "migrate"], capture_output=True, text=True)
        check("migrate exits 0", migrate.returncode == 0, migrate.stdout[-500:] + migrate.stderr[-500:])
        for name, arg in (("smoke-api", "api"), ("smoke-worker", "worker")):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
            subprocess.run([*RUN, "-d", "--name", name, *env_args, image, arg], check=True, capture_output=True)
            names.append(name)
        wait("http://127.0.0.1:58082/ready")
        wait("http://127.0.0.1:58083/health")
        status, body = http("POST", "http://127.0.0.1:58082/v1/agents/assistant/invocations?wait=25",
                            {"input": "what is 2+3*4; lookup redis"})
        check("invocation end to end", status == 200 and json.loads(body)["status"] == "succeeded", body[:300])
        for probe in ("liveness", "readiness"):
            rc = subprocess.run(["docker", "exec", "smoke-worker", "python", "-m", "app.probes", probe],
                                capture_output=True, text=True)
            check(f"worker {probe} probe", rc.returncode == 0, rc.stdout.strip())
        metrics = http("GET", "http://127.0.0.1:58083/metrics")[1]
        check("worker metrics", 'agent_invocation_total{agent="assistant",status="succeeded"} 1.0' in metrics)
        api_metrics = http("GET", "http://127.0.0.1:58082/metrics")[1]
        check("api metrics", "http_requests_total{" in api_metrics)
        for name in list(names):
            start = time.monotonic()
            subprocess.run(["docker", "stop", "-t", "30", name], check=True, capture_output=True)
            took = time.monotonic() - start
            code = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name],
                                  capture_output=True, text=True).stdout.strip()
            check(f"{name} stops on SIGTERM", took < 25, f"{took:.1f}s, exit code {code}")
        return 0
    finally:
        for name in names:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        redis_srv.stop()
        pg.destroy()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
