#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: helm_rollback
short_description: Roll a Helm release back to its last deployed revision, or to a given one
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Reads C(helm history) of the release and picks the revision to return to.
  - Without O(revision), the target is the newest good (deployed or superseded) revision older than the
    latest one. When the latest revision is failed or stuck in C(pending-install), C(pending-upgrade) or
    C(pending-rollback), the revision still marked deployed is the target, which also unlocks a stuck release.
  - Runs C(helm rollback), waits for the resources when O(wait=true), then reads the history again and
    reports the new revision and its status.
  - Re-running with the same O(revision) once that revision serves changes nothing.
  - kubernetes.core has no Helm rollback module; this one uses the same connection options and environment
    fallbacks as its helm modules.
  - Flags renamed in Helm 4 are chosen by the helm version (C(--force) vs C(--force-replace), C(--wait) vs
    C(--wait=watcher)).
requirements:
  - helm >= 3.8.0 (Helm 3 or Helm 4) on the host that runs the module
  - the kubernetes Python library, for O(mark_stuck_failed)
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
  - agent_service.platform.helm_release
options:
  revision:
    description:
      - Revision to roll back to. V(0) or unset means the last deployed revision before the current one.
    type: int
  force:
    description: Replace resources that cannot be updated (C(--force), Helm 4 C(--force-replace)).
    type: bool
    default: false
  cleanup_on_fail:
    description: Delete new resources created by this rollback when it fails.
    type: bool
    default: false
  disable_hook:
    description: Do not run the chart's rollback hooks (C(--no-hooks)).
    type: bool
    default: false
  history_max:
    description: Maximum number of revisions helm keeps for the release.
    type: int
  mark_stuck_failed:
    description:
      - After a rollback away from a revision stuck in C(pending-install), C(pending-upgrade) or
        C(pending-rollback) (its helm process was killed), mark that revision C(failed) in helm's storage, the
        way helm marks an upgrade that failed, so that C(helm history) has no pending revision left.
      - Needs the C(kubernetes) Python library (a dependency of kubernetes.core) and, for the module's
        credentials, C(get) and C(patch) on the release's Secrets (or ConfigMaps).
      - The write carries the record's resourceVersion, so it is refused when helm changed the record meanwhile.
    type: bool
    default: true
  storage_driver:
    description:
      - Where helm keeps the release records, as helm's E(HELM_DRIVER). Only used by O(mark_stuck_failed).
    type: str
    choices: [secret, configmap]
    default: secret
attributes:
  check_mode:
    description: Returns the plan and the command it would run; runs only read-only C(helm history).
    support: full
  diff_mode:
    description: Shows the revision and status before, and the revision it rolls back to.
    support: full
seealso:
  - module: kubernetes.core.helm
  - module: kubernetes.core.helm_info
notes:
  - A chart rollback does not revert database migrations; restore a database backup for that.
"""

EXAMPLES = r"""
- name: Roll back to the last deployed revision and wait
  agent_service.platform.helm_rollback:
    release_name: agent-service
    release_namespace: production
    timeout: 5m0s

- name: Return to revision 3 exactly
  agent_service.platform.helm_rollback:
    name: agent-service
    namespace: staging
    revision: 3
    kubeconfig: /etc/deployer/kubeconfig

- name: Show what would happen
  agent_service.platform.helm_rollback:
    name: agent-service
    namespace: dev
  check_mode: true
  register: __plan
"""

RETURN = r"""
changed:
  description: Whether a rollback ran (or would run, in check mode).
  returned: always
  type: bool
release_name:
  description: Name of the release.
  returned: always
  type: str
  sample: agent-service
release_namespace:
  description: Namespace of the release.
  returned: always
  type: str
  sample: production
rolled_back_from:
  description: Latest revision before the rollback.
  returned: always
  type: int
  sample: 5
rolled_back_to:
  description: Revision whose configuration is (or would be) restored.
  returned: always
  type: int
  sample: 4
revision:
  description: Latest revision after the rollback (the new revision helm created), or the current one when nothing ran.
  returned: always
  type: int
  sample: 6
status:
  description: Status of O(revision) after the run (C(deployed) after a successful rollback).
  returned: always
  type: str
  sample: deployed
marked_failed:
  description:
    - The stuck revision marked failed by O(mark_stuck_failed); empty when there was none.
    - When the marking itself failed (the rollback still happened), C(status) is null and C(error) says why,
      and the module warns.
  returned: always
  type: dict
  sample:
    revision: 5
    record: sh.helm.release.v1.agent-service.v5
    status_before: pending-upgrade
    status: failed
    description: pending-upgrade when its helm process stopped; marked failed after the rollback to 4 (revision 6)
plan:
  description: The decision, made from C(helm history) before anything changed.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a rollback is needed.
      type: bool
    current_revision:
      description: Latest revision.
      type: int
    target_revision:
      description: Revision to roll back to.
      type: int
    current_status:
      description: Status of the latest revision, for example C(failed) or C(pending-upgrade).
      type: str
    reason:
      description: Human-readable explanation of the choice.
      type: str
  sample:
    changed: true
    current_revision: 5
    target_revision: 4
    current_status: pending-upgrade
    reason: revision 5 is pending-upgrade; last deployed is 4
helm_version:
  description: Version of the helm binary used.
  returned: always
  type: str
  sample: 3.22.0
command:
  description: The helm rollback command, as an argv list (run, or planned in check mode).
  returned: always
  type: list
  elements: str
  sample: [helm, rollback, agent-service, "4", --namespace, production, --wait, --timeout, 5m0s]
stdout:
  description: Standard output of helm rollback (empty when it did not run).
  returned: always
  type: str
  sample: "Rollback was a success! Happy Helming!"
stderr:
  description: Standard error of helm rollback (empty when it did not run).
  returned: always
  type: str
diff:
  description: Before and after, when diff mode is on and a rollback is planned.
  returned: when diff mode is on and changed
  type: dict
rc:
  description: Exit code of the failed helm command.
  returned: failure
  type: int
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.agent_service.platform.plugins.module_utils.helm import (  # noqa: E402
    HelmError,
    helm_arg_spec,
    module_runner,
    run_rollback,
)
from ansible_collections.agent_service.platform.plugins.module_utils.helm_storage import (  # noqa: E402
    KubernetesRecordStore,
    mark_stuck_revision,
)
from ansible_collections.agent_service.platform.plugins.module_utils.k8s_client import (  # noqa: E402
    api_client,
    has_kubernetes,
)


def argument_spec():
    return helm_arg_spec(
        revision=dict(type="int"),
        force=dict(type="bool", default=False),
        cleanup_on_fail=dict(type="bool", default=False),
        disable_hook=dict(type="bool", default=False),
        history_max=dict(type="int"),
        mark_stuck_failed=dict(type="bool", default=True),
        storage_driver=dict(type="str", default="secret", choices=["secret", "configmap"]),
    )


def stuck_marker(module):
    """The callable run_rollback uses to mark a stuck revision failed, or None."""
    params = module.params
    if not params["mark_stuck_failed"]:
        return None
    if not has_kubernetes():
        module.warn("mark_stuck_failed needs the kubernetes Python library; the stuck revision keeps its status")
        return None

    def mark(revision, reason):
        # the rollback has happened: a failure to mark the old revision is reported, not fatal
        try:
            store = KubernetesRecordStore(api_client(params), params["release_namespace"], params["storage_driver"])
            return mark_stuck_revision(store, params["release_name"], revision, reason)
        except Exception as exc:  # pylint: disable=broad-except  # the API client's errors have no common base
            module.warn(f"the rollback succeeded, but revision {revision} could not be marked failed: {exc}")
            return dict(revision=int(revision), status_before=None, status=None, error=str(exc))

    return mark


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if (module.params["revision"] or 0) < 0:
        module.fail_json(msg="revision must be 0 (previous) or a positive revision number")
    runner = module_runner(module)
    try:
        result = run_rollback(runner, module.params, check_mode=module.check_mode, mark_stuck=stuck_marker(module))
    except HelmError as exc:
        module.fail_json(**exc.to_result())
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
