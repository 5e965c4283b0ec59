"""Worker liveness and readiness that follow the broker connection.

* ``ConsumerState`` (a consumer bootstep, restarted on every reconnection): touches the
  ready file once the worker consumes, removes it when the connection is lost, and
  touches the heartbeat file every second from the worker's event loop.
* ``Consumer``: while the broker is unreachable, Celery blocks in kombu's retry loop and
  the event loop does not run; kombu calls the retry ``callback`` every second, so the
  heartbeat is touched from there too. A worker that is retrying stays live (restarting
  it would not bring the broker back) but is not ready; a wedged worker goes stale.
"""
from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.worker.consumer import Consumer as CeleryConsumer

from app.core.config import get_settings
from app.worker import state


def _touch_heartbeat() -> None:
    state.touch(state.path(get_settings(), state.HEARTBEAT))


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn: Any) -> Any:
        original = conn.ensure_connection

        def ensure_connection(*args: Any, callback: Any = None, **kwargs: Any) -> Any:
            def tick() -> None:
                _touch_heartbeat()
                if callback is not None:
                    callback()

            return original(*args, callback=tick, **kwargs)

        conn.ensure_connection = ensure_connection
        return super().ensure_connected(conn)


class ConsumerState(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        settings = get_settings()
        _touch_heartbeat()
        if self.tref is not None:
            self.tref.cancel()
        self.tref = parent.timer.call_repeatedly(1.0, _touch_heartbeat, priority=10)
        state.touch(state.path(settings, state.READY))

    def stop(self, parent: Any) -> None:
        state.remove(state.path(get_settings(), state.READY))
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
