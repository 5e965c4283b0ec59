# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per release: a coordination.k8s.io/v1 Lease as the lock.

Two pipeline runs on one release must not overlap: the second one would find the first
one's upgrade ``pending-upgrade``, take it for a release stuck by a killed helm, and roll
it back under the running upgrade. The lock is a Lease in the release's namespace. Its
holder identity names the run (controller host, process, start time), and it expires
``leaseDurationSeconds`` after its last renewal, so a run that was killed does not block
the release for ever. A run also records its ``ansible-playbook`` process (host, boot,
pid and start time) in an annotation: a later run on the same machine that finds that
process gone takes the lock over at once, which is what an operator expects after a
killed run on their laptop or CI runner. A run on another machine waits for the expiry.

The decision is pure (``decide``, tested without a cluster). ``LeaseLock`` applies it
through the kubernetes client: creation fails when someone created the Lease first (409),
and every replace or delete carries the resourceVersion that was read, so two runs that
race for one Lease cannot both win.
"""

import datetime
import os
import socket
import time

UTC = datetime.timezone.utc  # noqa: UP017  # modules also run on Pythons older than 3.11
ACQUIRE, RENEW, TAKE_OVER, BLOCKED = "acquire", "renew", "take-over", "blocked"
RELEASE, NOTHING, NOT_OURS = "release", "nothing", "not-ours"


class LockError(Exception):
    """The lock could not be taken or given back; ``details`` goes into the module result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


def now_utc():
    return datetime.datetime.now(UTC)


def format_time(moment):
    """A Lease MicroTime: RFC 3339 with microseconds, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    """RFC 3339 (with or without fraction; Z or an offset) -> an aware datetime; None for None."""
    if text is None:
        return None
    if isinstance(text, datetime.datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    value = str(text).strip().replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError as exc:
        raise LockError(f"cannot read the Lease time {text!r}") from exc


def expires_at(spec):
    """When a Lease spec stops holding: last renewal (or acquisition) + duration; None when it has none."""
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if renewed is None or not duration:
        return None
    return renewed + datetime.timedelta(seconds=int(duration))


PROCESS_ANNOTATION = "agent-service.io/lock-process"


def _proc_stat(pid):
    """(parent pid, start time in clock ticks, command line) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().split(b"\0")
    except OSError:
        return None
    return int(fields[1]), fields[19], [part.decode(errors="replace") for part in cmdline if part]


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def owner_process(pid=None):
    """'host/boot/pid/start' of the outermost ansible-playbook process above ``pid`` (default: this one).

    The module runs under a forked ansible-playbook worker that ends with the task; the
    outermost ansible-playbook ancestor is the run itself. None when there is none (another
    runner, a remote connection) or /proc cannot be read.
    """
    found = None
    pid = pid or os.getpid()
    for _hop in range(64):
        stat = _proc_stat(pid)
        if stat is None:
            break
        parent, start, cmdline = stat
        if any(os.path.basename(part) == "ansible-playbook" for part in cmdline[:2]):
            found = f"{socket.gethostname()}/{_boot_id()}/{pid}/{start}"
        if parent <= 1:
            break
        pid = parent
    return found


def process_gone(recorded):
    """True when a recorded 'host/boot/pid/start' is on this machine and that process no longer runs."""
    try:
        host, boot, pid, start = (recorded or "").split("/")
    except ValueError:
        return False
    if host != socket.gethostname() or boot != _boot_id():
        return False
    stat = _proc_stat(int(pid))
    return stat is None or stat[1] != start


def decide(spec, holder, moment, state="present", holder_gone=False):
    """What to do with the Lease whose spec is ``spec`` (None: no Lease) for ``holder`` at ``moment``.

    state=present: ACQUIRE (none), RENEW (ours), TAKE_OVER (someone else's, expired or
    without holder), BLOCKED (someone else's and live). state=absent: RELEASE (ours),
    NOTHING (none), NOT_OURS (someone else's, left alone). ``holder_gone``: the holder's
    process is known to have ended (``process_gone``), so its live Lease is taken over.
    """
    if spec is None:
        return ACQUIRE if state == "present" else NOTHING
    current = spec.get("holderIdentity") or ""
    if current == holder:
        return RENEW if state == "present" else RELEASE
    if state != "present":
        return NOT_OURS if current else NOTHING
    until = expires_at(spec)
    if not current or until is None or until <= moment or holder_gone:
        return TAKE_OVER
    return BLOCKED


def lease_spec(holder, ttl, moment, previous=None):
    """The spec written when acquiring, renewing or taking over."""
    previous = previous or {}
    ours = previous.get("holderIdentity") == holder
    transitions = int(previous.get("leaseTransitions") or 0) + (0 if ours or not previous else 1)
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": int(ttl),
        "acquireTime": previous.get("acquireTime") if ours and previous.get("acquireTime") else format_time(moment),
        "renewTime": format_time(moment),
        "leaseTransitions": transitions,
    }


def describe(name, namespace, spec):
    """One sentence about who holds a Lease and until when."""
    until = expires_at(spec)
    return (f"Lease {namespace}/{name} is held by {spec.get('holderIdentity')!r} since {spec.get('acquireTime')} "
            f"(renewed {spec.get('renewTime')}, expires {format_time(until) if until else 'never'})")


def spec_as_dict(lease):
    """The spec of a Lease read by the kubernetes client, as a plain dict in API field names."""
    spec = lease.spec
    return {
        "holderIdentity": spec.holder_identity,
        "leaseDurationSeconds": spec.lease_duration_seconds,
        "acquireTime": format_time(parse_time(spec.acquire_time)) if spec.acquire_time else None,
        "renewTime": format_time(parse_time(spec.renew_time)) if spec.renew_time else None,
        "leaseTransitions": spec.lease_transitions,
    }


class LeaseLock:
    """Applies ``decide`` to a real Lease through ``kubernetes.client.CoordinationV1Api``."""

    def __init__(self, api, name, namespace, holder, ttl=1800, labels=None, clock=now_utc, sleep=time.sleep,
                 process=None):
        self.process = process
        self.api = api
        self.name = name
        self.namespace = namespace
        self.holder = holder
        self.ttl = ttl
        self.labels = labels or {}
        self.clock = clock
        self.sleep = sleep

    def _read(self):
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel

        try:
            lease = self.api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None, None, None
            raise
        return spec_as_dict(lease), lease.metadata.resource_version, (lease.metadata.annotations or {}).get(
            PROCESS_ANNOTATION)

    def _body(self, spec, resource_version=None):
        metadata = {"name": self.name, "namespace": self.namespace, "labels": self.labels,
                    "annotations": {PROCESS_ANNOTATION: self.process} if self.process else {}}
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    def acquire(self, wait=0, check_mode=False):
        """Take (or renew) the lock, waiting up to ``wait`` seconds for a live holder to let go."""
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel

        deadline = time.monotonic() + max(0, wait)
        while True:
            spec, version, process = self._read()
            moment = self.clock()
            gone = spec is not None and process_gone(process)
            action = decide(spec, self.holder, moment, holder_gone=gone)
            result = dict(action=action, previous=spec, holder=self.holder, previous_process_gone=gone)
            if action == BLOCKED:
                if time.monotonic() < deadline:
                    self.sleep(min(5, max(0.5, deadline - time.monotonic())))
                    continue
                raise LockError(describe(self.name, self.namespace, spec) + ": another run is releasing it", **result)
            if check_mode:
                return dict(result, changed=action != RENEW)
            new = lease_spec(self.holder, self.ttl, moment, spec)
            try:
                if action == ACQUIRE:
                    self.api.create_namespaced_lease(self.namespace, self._body(new))
                else:
                    self.api.replace_namespaced_lease(self.name, self.namespace, self._body(new, version))
            except ApiException as exc:
                if exc.status == 409:  # someone else wrote it between our read and our write: read again
                    continue
                raise
            return dict(result, changed=action != RENEW, spec=new)

    def release(self, check_mode=False):
        """Give the lock back when we hold it; leave anyone else's alone."""
        from kubernetes import client  # pylint: disable=import-outside-toplevel
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel

        spec, version, _process = self._read()
        action = decide(spec, self.holder, self.clock(), state="absent")
        result = dict(action=action, previous=spec, holder=self.holder, changed=action == RELEASE)
        if action != RELEASE or check_mode:
            return result
        try:
            self.api.delete_namespaced_lease(self.name, self.namespace,
                                             body=client.V1DeleteOptions(preconditions=client.V1Preconditions(
                                                 resource_version=version)))
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
            return dict(result, changed=False, action=NOT_OURS if exc.status == 409 else NOTHING)
        return result
