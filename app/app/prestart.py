"""The `migrate` process: wait for PostgreSQL, then `alembic upgrade head`.

    python -m app.prestart [--timeout SECONDS] [--revision head]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from tenacity import RetryError, retry, stop_after_delay, wait_fixed

from app.core.config import get_settings
from app.core.db import get_engine
from app.core.logging import configure_logging

log = logging.getLogger("app.prestart")
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def wait_for_database(timeout_s: float) -> None:
    @retry(stop=stop_after_delay(timeout_s), wait=wait_fixed(1), reraise=False)
    def _ping() -> None:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    _ping()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.prestart", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for PostgreSQL")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL)
    target = f"{settings.POSTGRES_HOST}:{settings.POSTGRES_PORT}/{settings.POSTGRES_DB}"
    log.info("waiting for PostgreSQL", extra={"target": target, "timeout_s": args.timeout})
    try:
        wait_for_database(args.timeout)
    except RetryError as exc:
        log.error("PostgreSQL did not answer", extra={"target": target, "error": str(exc.last_attempt.exception())})
        return 1
    command.upgrade(alembic_config(), args.revision)
    log.info("migrations applied", extra={"revision": args.revision})
    return 0


if __name__ == "__main__":
    sys.exit(main())
