#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: helm_upgrade
short_description: Install or upgrade a Helm release from a local chart, atomically, once the caller knows it changes
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Runs C(helm upgrade --install) of a chart directory with values files, atomic (Helm 3 C(--atomic), Helm 4
    C(--rollback-on-failure)) and waiting (C(--wait), Helm 4 C(--wait=watcher)) by default, then reads the
    revision it made with C(helm history --max 1).
  - It does not check for changes itself and always reports RV(ignore:changed=true). The caller decides
    beforehand, as the release role does with M(agent_service.platform.helm_diff) in its diff stage, and only
    then calls this module. Where no such decision is made, use M(kubernetes.core.helm), which makes a check of
    its own (a second C(helm diff) and reads of the release) on every call.
  - Takes the connection options and environment fallbacks of kubernetes.core's helm modules, so one
    C(module_defaults) group serves both.
requirements:
  - helm >= 3.8.0 (Helm 3 or Helm 4) on the host that runs the module
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
  - agent_service.platform.helm_release
  - agent_service.platform.helm_release.values
options:
  chart_ref:
    description: Path of the chart directory (or packaged chart).
    type: path
    required: true
  values_files:
    description: Values files, later ones win (C(--values)).
    type: list
    elements: path
    default: []
  reset_values:
    description: Start from the chart's values, not the release's last ones (C(--reset-values)).
    type: bool
    default: true
  atomic:
    description:
      - Roll the release back when the upgrade fails (C(--atomic), Helm 4 C(--rollback-on-failure)).
      - Implies O(wait).
    type: bool
    default: true
  history_max:
    description: Maximum number of revisions helm keeps for the release.
    type: int
  disable_hook:
    description: Do not run the chart's hooks (C(--no-hooks)).
    type: bool
    default: false
  create_namespace:
    description: Create the namespace when it does not exist.
    type: bool
    default: false
attributes:
  check_mode:
    description: Runs only C(helm version) and returns the command it would run.
    support: full
  diff_mode:
    description: Not supported; the release role shows C(helm diff upgrade) in its diff stage.
    support: none
seealso:
  - module: kubernetes.core.helm
  - module: agent_service.platform.helm_diff
  - module: agent_service.platform.helm_rollback
"""

EXAMPLES = r"""
- name: Upgrade the release (the diff stage found changes)
  agent_service.platform.helm_upgrade:
    release_name: agent-service
    release_namespace: prod
    chart_ref: /srv/charts/agent-service
    values_files: [/tmp/release/values.yaml]
    timeout: 10m
    history_max: 10
  register: upgraded

- name: Show the new revision
  ansible.builtin.debug:
    msg: "revision {{ upgraded.status.revision }} is {{ upgraded.status.status }}"
"""

RETURN = r"""
status:
  description: The release after the upgrade, as C(helm history) reports its newest revision.
  returned: success, when not in check mode
  type: dict
  sample: {"name": "agent-service", "namespace": "prod", "revision": 7, "status": "deployed",
           "chart": "agent-service-1.0.0", "app_version": "2.0.0", "updated": "2026-11-28T10:15:00Z"}
command:
  description: The helm command that ran (or would run, in check mode).
  returned: always
  type: list
  elements: str
stdout:
  description: Output of C(helm upgrade) (the chart's notes).
  returned: always
  type: str
stderr:
  description: Errors and warnings of C(helm upgrade).
  returned: always
  type: str
helm_version:
  description: The version of the helm binary used.
  returned: always
  type: str
  sample: 3.22.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.helm import (
    VALUES_ARG_SPEC,
    HelmError,
    helm_arg_spec,
    module_runner,
    private_values,
    run_upgrade,
)


def argument_spec():
    return helm_arg_spec(
        chart_ref=dict(type="path", required=True),
        values_files=dict(type="list", elements="path", default=[]),
        **VALUES_ARG_SPEC,
        reset_values=dict(type="bool", default=True),
        atomic=dict(type="bool", default=True),
        history_max=dict(type="int"),
        disable_hook=dict(type="bool", default=False),
        create_namespace=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    runner = module_runner(module)
    try:
        with private_values(module.params) as params:
            result = run_upgrade(runner, params, check_mode=module.check_mode)
    except HelmError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
