"""Worker liveness and readiness files (read by ``python -m app.probes``)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from app.core.config import Settings

HEARTBEAT = "worker_heartbeat"
READY = "worker_ready"


def path(settings: Settings, name: str) -> Path:
    return Path(settings.WORKER_STATE_DIR) / name


def touch(file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.touch(exist_ok=True)
    now = time.time()
    os.utime(file, (now, now))


def remove(file: Path) -> None:
    file.unlink(missing_ok=True)


def heartbeat_age(settings: Settings) -> float | None:
    try:
        return time.time() - path(settings, HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return None


def is_ready(settings: Settings) -> bool:
    return path(settings, READY).exists()


def is_alive(settings: Settings) -> bool:
    age = heartbeat_age(settings)
    return age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE
