"""Worker liveness and readiness files (read by ``python -m app.probes``).

Free of pydantic and of ``app.core.config`` at import time: the exec probes import this
module every few seconds in every worker pod, and importing the settings costs many times
the rest of the probe (bench/results/notes.md)."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from app.core.defaults import WORKER_HEARTBEAT_MAX_AGE_DEFAULT, WORKER_HEARTBEAT_MAX_AGE_MIN, WORKER_STATE_DIR_DEFAULT

if TYPE_CHECKING:
    from app.core.config import Settings

HEARTBEAT = "worker_heartbeat"
READY = "worker_ready"


class ProbeSettings(NamedTuple):
    """The two settings the probes read, from the environment as ``Settings`` reads them."""

    WORKER_STATE_DIR: str
    WORKER_HEARTBEAT_MAX_AGE: int

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> ProbeSettings:
        # Settings matches names case-insensitively and ignores empty values
        env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items() if v}
        raw_age = env.get("WORKER_HEARTBEAT_MAX_AGE", str(WORKER_HEARTBEAT_MAX_AGE_DEFAULT))
        try:
            age = int(raw_age)
        except ValueError:
            raise ValueError(f"WORKER_HEARTBEAT_MAX_AGE must be an integer, got {raw_age!r}") from None
        if age < WORKER_HEARTBEAT_MAX_AGE_MIN:
            raise ValueError(f"WORKER_HEARTBEAT_MAX_AGE must be >= {WORKER_HEARTBEAT_MAX_AGE_MIN}, got {age}")
        return cls(env.get("WORKER_STATE_DIR", WORKER_STATE_DIR_DEFAULT), age)


def path(settings: Settings | ProbeSettings, name: str) -> Path:
    return Path(settings.WORKER_STATE_DIR) / name


def touch(file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.touch(exist_ok=True)
    now = time.time()
    os.utime(file, (now, now))


def remove(file: Path) -> None:
    file.unlink(missing_ok=True)


def heartbeat_age(settings: Settings | ProbeSettings) -> float | None:
    try:
        return time.time() - path(settings, HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        return None


def is_ready(settings: Settings | ProbeSettings) -> bool:
    return path(settings, READY).exists()


def is_alive(settings: Settings | ProbeSettings) -> bool:
    age = heartbeat_age(settings)
    return age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE
