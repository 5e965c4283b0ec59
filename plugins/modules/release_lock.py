#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release_lock
short_description: Hold a per-release lock (a Kubernetes Lease) so that two release runs never overlap
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Takes, renews or gives back a C(coordination.k8s.io/v1) Lease in the release's namespace.
  - With O(state=present), the Lease is created, renewed when O(holder) already holds it, or taken over when
    its holder let it expire (a run that was killed).
  - The Lease also records the C(ansible-playbook) process of the run (host, boot, pid and start time, in the
    annotation C(agent-service.io/lock-process)). A run on the same machine that finds that process gone takes
    the Lease over at once; a run on another machine waits for the expiry (O(ttl)).
  - When another holder's Lease is live, the module waits up to O(wait) seconds, then fails and says who holds
    it and until when; nothing is changed.
  - With O(state=absent), the Lease is deleted when O(holder) holds it; anyone else's Lease is left alone.
  - Writes carry the resourceVersion that was read, so two runs racing for one Lease cannot both win.
  - The release role takes the lock in its preflight, before it looks for a release stuck in C(pending-*),
    so that a second run never mistakes the first run's upgrade in progress for a stuck release.
requirements:
  - the kubernetes Python library (a dependency of kubernetes.core)
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
options:
  name:
    description: Name of the Lease, for example C(<release>-release-lock).
    type: str
    required: true
  namespace:
    description: Namespace of the Lease (the release's namespace).
    type: str
    required: true
  holder:
    description: Identity of this run; the same value renews and releases the lock.
    type: str
    required: true
  state:
    description: V(present) takes or renews the lock, V(absent) gives it back.
    type: str
    choices: [present, absent]
    default: present
  ttl:
    description: Seconds the lock lasts after its last renewal; a killed run blocks the release at most this long.
    type: int
    default: 1800
  wait:
    description: Seconds to wait for another holder to release the lock before failing.
    type: int
    default: 0
  labels:
    description: Labels of the Lease.
    type: dict
    default: {}
attributes:
  check_mode:
    description: Reads the Lease and reports what would happen; a live Lease of another holder still fails.
    support: full
  diff_mode:
    description: Not supported.
    support: none
seealso:
  - module: agent_service.platform.helm_rollback
  - module: kubernetes.core.k8s
notes:
  - The credentials need C(get), C(create), C(update) and C(delete) on C(leases.coordination.k8s.io) in the namespace.
"""

EXAMPLES = r"""
- name: Take the release lock (wait up to 2 minutes for another run)
  agent_service.platform.release_lock:
    name: agent-service-release-lock
    namespace: production
    holder: "{{ lookup('ansible.builtin.pipe', 'hostname') }}/{{ ansible_date_time.epoch | default(0) }}"
    ttl: 1800
    wait: 120

- name: Give it back
  agent_service.platform.release_lock:
    name: agent-service-release-lock
    namespace: production
    holder: deployer-1/1764280000
    state: absent
"""

RETURN = r"""
action:
  description:
    - What was done, one of V(acquire), V(renew), V(take-over) (the previous holder's Lease had expired),
      V(release), V(nothing) (no Lease to give back) or V(not-ours) (another holder's Lease, left alone).
  returned: success
  type: str
  sample: acquire
holder:
  description: The holder identity this run used.
  returned: always
  type: str
  sample: deployer-1/1764280000
previous_process_gone:
  description: Whether the previous holder's C(ansible-playbook) process is known to have ended (same machine).
  returned: when O(state=present)
  type: bool
previous:
  description: The Lease spec found before the change (API field names), or null when there was none.
  returned: always
  type: dict
  sample:
    holderIdentity: deployer-2/1764279000
    leaseDurationSeconds: 1800
    acquireTime: "2026-11-27T21:00:00.000000Z"
    renewTime: "2026-11-27T21:00:00.000000Z"
    leaseTransitions: 0
spec:
  description: The Lease spec written, when one was.
  returned: when the lock was taken or renewed (not in check mode)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.agent_service.platform.plugins.module_utils.k8s_client import (  # noqa: E402
    api_client,
    has_kubernetes,
    k8s_arg_spec,
)
from ansible_collections.agent_service.platform.plugins.module_utils.lease import (  # noqa: E402
    LeaseLock,
    LockError,
    owner_process,
)


def argument_spec():
    return k8s_arg_spec(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        holder=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        ttl=dict(type="int", default=1800),
        wait=dict(type="int", default=0),
        labels=dict(type="dict", default={}),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not has_kubernetes():
        module.fail_json(msg=missing_required_lib("kubernetes"))
    # each bad parameter named with the value it got
    problems = []
    if params["ttl"] < 1:
        problems.append(f"ttl must be at least 1 second, got {params['ttl']}")
    if params["wait"] < 0:
        problems.append(f"wait must not be negative, got {params['wait']}")
    if problems:
        module.fail_json(msg="; ".join(problems))
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    lock = LeaseLock(client.CoordinationV1Api(api_client(params)), params["name"], params["namespace"],
                     params["holder"], ttl=params["ttl"], labels=params["labels"], process=owner_process())
    try:
        if params["state"] == "present":
            result = lock.acquire(wait=params["wait"], check_mode=module.check_mode)
        else:
            result = lock.release(check_mode=module.check_mode)
    except LockError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Exception as exc:  # pylint: disable=broad-except  # the API client's errors have no common base
        module.fail_json(msg=f"Lease {params['namespace']}/{params['name']}: {exc}", holder=params["holder"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
