"""Settings of the Agent Service, read from the environment (documented in app/README.md).

One ``Settings`` class; ``get_settings()`` caches one instance per process and tests
call ``get_settings.cache_clear()`` after changing the environment.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, computed_field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.defaults import (
    WORKER_HEARTBEAT_MAX_AGE_DEFAULT,
    WORKER_HEARTBEAT_MAX_AGE_MIN,
    WORKER_STATE_DIR_DEFAULT,
)

QUEUES = ("default", "agents", "priority")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, env_ignore_empty=True, extra="ignore")

    APP_ENV: Literal["development", "test", "staging", "production"] = "production"
    APP_VERSION: str = "0.0.0"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    POSTGRES_HOST: str = "localhost"
    POSTGRES_PORT: int = Field(5432, ge=1, le=65535)
    POSTGRES_DB: str = "agent_service"
    POSTGRES_USER: str = "agent_service"
    POSTGRES_PASSWORD: SecretStr = SecretStr("")
    POSTGRES_CONNECT_TIMEOUT: int = Field(3, ge=1, le=60)

    REDIS_HOST: str = "localhost"
    REDIS_PORT: int = Field(6379, ge=1, le=65535)
    REDIS_PASSWORD: SecretStr = SecretStr("")
    REDIS_DB: int = Field(0, ge=0, le=15)

    CELERY_QUEUES: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(QUEUES))
    CELERY_CONCURRENCY: int = Field(2, ge=1, le=64)
    CELERY_TASK_SOFT_TIME_LIMIT: int = Field(240, ge=1)
    CELERY_TASK_TIME_LIMIT: int = Field(300, ge=2)
    # Redis redelivers an unacknowledged task after this many seconds: it must exceed the
    # hard time limit, or a long task is delivered twice. Default: hard limit + 60 s.
    CELERY_VISIBILITY_TIMEOUT: int | None = Field(None, ge=1)
    # How often a worker looks for unacknowledged messages older than the visibility timeout
    # (those of a worker that died) and puts them back on their queue.
    CELERY_RESTORE_INTERVAL: int = Field(10, ge=1, le=600)
    CELERY_MAX_RETRIES: int = Field(3, ge=0, le=10)
    CELERY_RETRY_BACKOFF_MAX: int = Field(30, ge=1)
    WORKER_STATE_DIR: str = WORKER_STATE_DIR_DEFAULT
    WORKER_HEARTBEAT_MAX_AGE: int = Field(WORKER_HEARTBEAT_MAX_AGE_DEFAULT, ge=WORKER_HEARTBEAT_MAX_AGE_MIN)
    METRICS_HOST: str = "0.0.0.0"
    METRICS_PORT: int = Field(9808, ge=1, le=65535)

    AGENT_PROVIDER: Literal["offline", "openai"] = "offline"
    OPENAI_BASE_URL: str = "https://api.openai.com/v1"
    OPENAI_API_KEY: SecretStr = SecretStr("")
    OPENAI_MODEL: str = "gpt-4o-mini"
    OPENAI_TIMEOUT: float = Field(30.0, gt=0)
    AGENT_MAX_STEPS: int = Field(8, ge=1, le=50)
    AGENT_TIME_BUDGET_SECONDS: float = Field(120.0, gt=0)

    RATE_LIMIT_PER_MINUTE: int = Field(120, ge=1)
    HTTP_TOOL_ALLOWLIST: Annotated[list[str], NoDecode] = Field(default_factory=list)
    HTTP_TOOL_TIMEOUT: float = Field(5.0, gt=0)
    INVOCATION_WAIT_MAX: float = Field(30.0, gt=0)
    INVOCATION_STALE_SECONDS: int | None = Field(None, ge=1)
    INVOCATION_RETENTION_HOURS: int = Field(168, ge=1)

    FAULT_ERROR_RATE: float = Field(0.0, ge=0.0, le=1.0)
    FAULT_LATENCY_MS: int = Field(0, ge=0, le=60000)

    PROMETHEUS_MULTIPROC_DIR: str = "/tmp/prometheus"

    # OpenTelemetry tracing (app.core.tracing): off unless TRACING_ENABLED is true.
    TRACING_ENABLED: bool = False
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None  # default http://localhost:4318 (http) / :4317 (grpc)
    OTEL_EXPORTER_OTLP_PROTOCOL: Literal["http/protobuf", "grpc"] = "http/protobuf"
    TRACING_SAMPLER_RATIO: float = Field(1.0, ge=0.0, le=1.0)  # parent-based trace-id ratio
    OTEL_SERVICE_NAME: str | None = None  # default agent-service-<api|worker|beat>

    @field_validator("CELERY_QUEUES", "HTTP_TOOL_ALLOWLIST", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("CELERY_QUEUES")
    @classmethod
    def _known_queues(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(QUEUES))
        if not value or unknown:
            raise ValueError(f"CELERY_QUEUES must be a non-empty subset of {','.join(QUEUES)}; unknown: {unknown}")
        return value

    @field_validator("OTEL_EXPORTER_OTLP_ENDPOINT")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s):// URL with a host, got {value!r}")
        return value

    @field_validator("HTTP_TOOL_ALLOWLIST")
    @classmethod
    def _lower_hosts(cls, value: list[str]) -> list[str]:
        return [host.lower() for host in value]

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.CELERY_TASK_SOFT_TIME_LIMIT >= self.CELERY_TASK_TIME_LIMIT:
            raise ValueError("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
        if self.visibility_timeout <= self.CELERY_TASK_TIME_LIMIT:
            raise ValueError("CELERY_VISIBILITY_TIMEOUT must be above CELERY_TASK_TIME_LIMIT")
        if self.AGENT_PROVIDER == "openai" and not self.OPENAI_API_KEY.get_secret_value():
            raise ValueError("AGENT_PROVIDER=openai needs OPENAI_API_KEY")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def visibility_timeout(self) -> int:
        return self.CELERY_VISIBILITY_TIMEOUT or self.CELERY_TASK_TIME_LIMIT + 60

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stale_after_seconds(self) -> int:
        return self.INVOCATION_STALE_SECONDS or 2 * self.visibility_timeout

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fault_enabled(self) -> bool:
        return self.FAULT_ERROR_RATE > 0 or self.FAULT_LATENCY_MS > 0

    @property
    def otlp_endpoint(self) -> str:
        default = "http://localhost:4317" if self.OTEL_EXPORTER_OTLP_PROTOCOL == "grpc" else "http://localhost:4318"
        return self.OTEL_EXPORTER_OTLP_ENDPOINT or default

    def database_url(self, db: str | None = None) -> str:
        password = quote(self.POSTGRES_PASSWORD.get_secret_value(), safe="")
        auth = f"{quote(self.POSTGRES_USER, safe='')}:{password}" if password else quote(self.POSTGRES_USER, safe="")
        return f"postgresql+psycopg://{auth}@{self.POSTGRES_HOST}:{self.POSTGRES_PORT}/{db or self.POSTGRES_DB}"

    @property
    def redis_url(self) -> str:
        password = self.REDIS_PASSWORD.get_secret_value()
        auth = f":{quote(password, safe='')}@" if password else ""
        return f"redis://{auth}{self.REDIS_HOST}:{self.REDIS_PORT}/{self.REDIS_DB}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
