"""Alembic migrations up and down on a fresh database, and the `migrate` process."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.conftest import start_process
from tests.services import Postgres


@pytest.fixture()
def fresh_db(pg: Postgres) -> str:
    pg.admin("DROP DATABASE IF EXISTS migration_test")
    pg.admin("CREATE DATABASE migration_test")
    return "migration_test"


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(fresh_db: str) -> None:
    from app.core.config import get_settings
    from app.prestart import alembic_config

    url = get_settings().database_url(fresh_db)
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    assert tables(url) == {"alembic_version", "invocations", "tool_calls", "lookup_entries"}
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM lookup_entries")) == 6
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
    engine.dispose()
    command.downgrade(cfg, "base")
    assert tables(url) == {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "invocations" in tables(url)


def test_models_match_the_migrations(fresh_db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from app.core.config import get_settings
    from app.models import Base
    from app.prestart import alembic_config

    url = get_settings().database_url(fresh_db)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrate_process_waits_and_upgrades(fresh_db: str, base_env: dict[str, str]) -> None:
    proc = start_process("migrate", ["migrate", "--timeout", "30"], {**base_env, "POSTGRES_DB": fresh_db})
    assert proc.popen.wait(60) == 0, proc.output()
    from app.core.config import get_settings

    assert "invocations" in tables(get_settings().database_url(fresh_db))
    assert '"msg": "migrations applied"' in proc.output()


def test_migrate_process_gives_up_without_database(base_env: dict[str, str]) -> None:
    proc = start_process("migrate-down", ["migrate", "--timeout", "2"], {**base_env, "POSTGRES_PORT": "58017"})
    assert proc.popen.wait(60) == 1
    assert "PostgreSQL did not answer" in proc.output()
