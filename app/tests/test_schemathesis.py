"""schemathesis (pinned in requirements-test.txt) against the OpenAPI spec of a real uvicorn
API process with a real worker: schema-valid (and invalid) input never gets a 500, and every
response matches its documented status, content type, headers and schema."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Proc, start_api

pytestmark = pytest.mark.usefixtures("worker")
PORT = 58003


@pytest.fixture()
def api(base_env: dict[str, str]) -> Proc:
    proc = start_api("api-schemathesis", base_env, port=PORT)
    yield proc
    proc.stop()


def test_schemathesis_finds_no_server_error(api: Proc, tmp_path: Path) -> None:
    results = Path(os.environ.get("RESULTS", tmp_path)) / "app"
    results.mkdir(parents=True, exist_ok=True)
    cli = Path(sys.executable).parent / "schemathesis"
    proc = subprocess.run(
        [str(cli), "run", f"http://127.0.0.1:{PORT}/openapi.json",
         "--checks", "all", "--exclude-checks", "ignored_auth,object_level_authorization",
         "--max-examples", "40", "--seed", "20261127", "--workers", "1", "--request-timeout", "35",
         "--phases", "examples,coverage,fuzzing,stateful", "--suppress-health-check", "too_slow",
         "--report", "junit", "--report-junit-path", str(results / "schemathesis-cases.junit.txt")],
        capture_output=True, text=True, timeout=240, env={**os.environ, "NO_COLOR": "1"},
    )
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:] + api.output()[-3000:]
