"""The Celery application: Redis broker and result backend, queues `default`, `agents`
and `priority`, at-least-once delivery (acks late, reject on worker lost, prefetch 1),
time limits below the Redis visibility timeout, and the beat schedule.

Configuration is computed lazily from ``get_settings()`` (``add_defaults`` with a
callable), so importing this module reads no environment."""
from __future__ import annotations

from typing import Any

# Imported eagerly: Celery imports its result backend lazily on first use, and in the beat
# process that first use can race another thread's import of the same module ("partially
# initialized module 'celery.backends.redis'").
import celery.backends.redis  # noqa: F401
from celery import Celery
from kombu import Exchange, Queue

from app.core.config import QUEUES, Settings, get_settings

TASK_RUN_INVOCATION = "agent.run_invocation"
TASK_EXPIRE_INVOCATIONS = "agent.expire_invocations"
TASK_QUEUES = {TASK_RUN_INVOCATION: "agents", TASK_EXPIRE_INVOCATIONS: "default"}


def celery_config(settings: Settings) -> dict[str, Any]:
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        "socket_timeout": 5,
        "socket_connect_timeout": 3,
        # kombu sweeps every interval * throttle seconds; throttle 1 makes the interval exact
        "unacked_restore_interval": settings.CELERY_RESTORE_INTERVAL,
        "unacked_restore_throttle": 1,
    }
    state_dir = settings.WORKER_STATE_DIR
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "visibility_timeout": settings.visibility_timeout,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "redis_socket_connect_timeout": 3,
        "redis_socket_timeout": 5,
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        "task_default_queue": "default",
        "task_default_exchange": "default",
        "task_default_routing_key": "default",
        "task_routes": {name: {"queue": queue, "routing_key": queue} for name, queue in TASK_QUEUES.items()},
        "task_create_missing_queues": False,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 3600,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A late-acked task cannot be acknowledged on a new connection: cancel it when the
        # connection drops (Redis redelivers it; the task stores its result only once).
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
        "task_time_limit": settings.CELERY_TASK_TIME_LIMIT,
        "task_track_started": True,
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_concurrency": settings.CELERY_CONCURRENCY,
        "worker_max_tasks_per_child": 500,
        "worker_consumer": "app.worker.consumer:Consumer",
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "beat_schedule_filename": f"{state_dir.rstrip('/')}/celerybeat-schedule",
        "beat_schedule": {
            "expire-invocations": {"task": TASK_EXPIRE_INVOCATIONS, "schedule": 60.0, "options": {"expires": 55}},
        },
        "timezone": "UTC",
        "enable_utc": True,
    }


celery_app = Celery("agent_service", include=["app.worker.tasks", "app.worker.signals"])
celery_app.add_defaults(lambda: celery_config(get_settings()))
