"""SQLAlchemy engine and sessions, created lazily (never at import time)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings, get_settings


def make_engine(settings: Settings, db: str | None = None, **kwargs: object) -> Engine:
    # Looked up at call time: the SQLAlchemy instrumentation (app.core.tracing) wraps it.
    return sqlalchemy.create_engine(
        settings.database_url(db),
        pool_pre_ping=True,
        # Ten connections at most, all kept: overflow connections are closed when they come
        # back, so under bursts every request beyond the pool paid a new connection (TCP and
        # SCRAM auth, ~4% of the API's busy time at 100 enqueues/s, bench/results/api_profile.md).
        pool_size=10,
        max_overflow=0,
        connect_args={"connect_timeout": settings.POSTGRES_CONNECT_TIMEOUT, "application_name": "agent-service"},
        **kwargs,
    )


_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    """One engine per database URL (tests point the settings at other databases)."""
    settings = get_settings()
    url = settings.database_url()
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(settings)
    return engine


def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def ping_database(timeout_s: float = 2.0) -> None:
    """SELECT 1 with a statement timeout; raises on any failure."""
    with get_engine().connect() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
        conn.execute(text("SELECT 1"))


def reset_engines() -> None:
    """Dispose of every engine (after a fork, or when tests switch databases)."""
    while _ENGINES:
        _, engine = _ENGINES.popitem()
        engine.dispose(close=False)
