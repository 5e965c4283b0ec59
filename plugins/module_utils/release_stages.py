# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stages of the release role and what the report derives from their results.

Each stage of roles/release leaves one result, ``__release_<stage>``, stamped with ``at``: the
time (epoch seconds) it finished. A stage's duration is the time from the result before it
(or the start of the run) to its own, so no task starts or stops a clock. A failure in the
upgrade block is charged to the stage whose task failed, read from the task's name
("<Stage> | what it does").
"""

from __future__ import annotations

# the stages inside the upgrade block that the rescue can charge a failure to; any other task there is the upgrade's
_BLOCK_STAGES = ("smoke", "analysis")


def failed_stage(task_name):
    """The stage of a failed task of the upgrade block: smoke or analysis by the task's
    "<Stage> | ..." prefix, else upgrade (the strategy's own steps are part of the upgrade)."""
    prefix = (task_name or "").split("|", 1)[0].strip().lower()
    return prefix if prefix in _BLOCK_STAGES else "upgrade"


def _stamped(results, stage):
    result = (results or {}).get(stage)
    return isinstance(result, dict) and result.get("at") is not None


def stage_timings(results, started):
    """Seconds per stage from the stages' results (``{stage: {'at': epoch, ...}}``).

    Stages are taken in the order of their ``at`` stamps; each one lasted from the stamp before
    it (``started`` for the first) to its own. A result without ``at`` is not counted. The
    ``failure`` result (``{'stage': ..., 'at': ...}``) stands for the stage that failed: the time
    until the failure is that stage's, or the upgrade's when the upgrade stage had not finished
    (the strategy's own smoke tests and analysis are steps of the upgrade).
    """
    stamped = []
    for stage, result in (results or {}).items():
        if not isinstance(result, dict) or result.get("at") is None:
            continue
        if stage == "failure":
            # a failure inside the upgrade stage (its own checks included) is the upgrade's time
            stage = result.get("stage") or "upgrade"
            if not _stamped(results, "upgrade"):
                stage = "upgrade"
            if _stamped(results, stage):
                continue
        stamped.append((float(result["at"]), stage))
    stamped.sort(key=lambda item: item[0])
    timings, previous = {}, float(started)
    for at, stage in stamped:
        timings[stage] = round(max(at - previous, 0.0), 2)
        previous = at
    return timings
