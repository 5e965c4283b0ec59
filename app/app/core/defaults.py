"""Defaults and bounds of the settings that code without pydantic also reads.

``Settings`` (app.core.config) declares its fields with these values, and the worker's exec
probes (app.worker.state) parse the same two variables straight from the environment with
them. This module imports nothing, so the probes stay cheap to start."""

WORKER_STATE_DIR_DEFAULT = "/tmp"
WORKER_HEARTBEAT_MAX_AGE_DEFAULT = 60
WORKER_HEARTBEAT_MAX_AGE_MIN = 2
