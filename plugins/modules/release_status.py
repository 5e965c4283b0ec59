#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release_status
short_description: Read a Helm release's newest revision, its status and fullname, and check the helm tools
version_added: 1.1.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Checks that helm is at least 3.8.0 and, with O(require_diff_plugin), that the helm-diff plugin is at least
    3.9.0. The minimums are written once, in the collection's C(module_utils).
  - Reads the newest revision of the release with C(helm history --max 1), its number, status, chart and app version.
    A release that does not exist is not an error (RV(exists=false)).
  - With O(chart_ref), returns the chart's fullname of the release, the rule of the chart's
    C(agent-service.fullname) helper (C(fullnameOverride), C(nameOverride), 63 characters).
  - With O(list_releases), the names of every release of the namespace. With O(traffic_group), the traffic group
    that the release's API Service selects (blue/green).
  - Only reads; never reports a change.
requirements:
  - helm >= 3.8.0 on the host that runs the module
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
  - agent_service.platform.helm_release.release
options:
  chart_ref:
    description: Path of the chart directory; needed for RV(fullname).
    type: path
  fullname_override:
    description: The release's C(fullnameOverride) value, if any.
    type: str
    default: ""
  name_override:
    description: The release's C(nameOverride) value, if any.
    type: str
    default: ""
  require_diff_plugin:
    description: Fail unless the helm-diff plugin is installed, at least 3.9.0.
    type: bool
    default: false
  list_releases:
    description: Also return the names of every release of the namespace.
    type: bool
    default: false
  traffic_group:
    description: Also return the traffic group that the release's API Service selects.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Reads only.
    support: none
seealso:
  - module: kubernetes.core.helm_info
  - module: agent_service.platform.helm_diff
"""

EXAMPLES = r"""
- name: Read the release and check the tools
  agent_service.platform.release_status:
    release_name: agent-service
    release_namespace: prod
    chart_ref: /srv/charts/agent-service
    require_diff_plugin: true
  register: release

- name: Show it
  ansible.builtin.debug:
    msg: "{{ release.fullname }} is {{ release.status or 'not installed' }} at revision {{ release.revision }}"
"""

RETURN = r"""
exists:
  description: Whether the release has any revision.
  returned: always
  type: bool
revision:
  description: The newest revision, null when the release does not exist.
  returned: always
  type: int
  sample: 7
status:
  description: Status of the newest revision (deployed, failed, pending-upgrade, ...); empty when absent.
  returned: always
  type: str
pending:
  description: Whether the newest revision is pending-install, pending-upgrade or pending-rollback.
  returned: always
  type: bool
chart:
  description: Chart name and version of the newest revision.
  returned: always
  type: str
  sample: agent-service-1.0.0
app_version:
  description: App version of the newest revision.
  returned: always
  type: str
updated:
  description: When the newest revision was made.
  returned: always
  type: str
description:
  description: helm's description of the newest revision.
  returned: always
  type: str
fullname:
  description: The chart's fullname of the release.
  returned: when O(chart_ref) is given
  type: str
  sample: agent-service
releases:
  description: Names of every release of the namespace.
  returned: when O(list_releases) is true
  type: list
  elements: str
traffic_group:
  description: The traffic group the release's API Service selects; empty when it selects its own pods.
  returned: when O(traffic_group) is true
  type: str
helm_version:
  description: Version of the helm binary.
  returned: always
  type: str
  sample: 3.22.0
helm_diff_version:
  description: Version of the helm-diff plugin, null when it is not installed.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.helm import (
    HelmError,
    helm_arg_spec,
    module_runner,
)
from ansible_collections.agent_service.platform.plugins.module_utils.helm_release import read_status


def argument_spec():
    return helm_arg_spec(
        ("release_name", "release_namespace"),
        chart_ref=dict(type="path"),
        fullname_override=dict(type="str", default=""),
        name_override=dict(type="str", default=""),
        require_diff_plugin=dict(type="bool", default=False),
        list_releases=dict(type="bool", default=False),
        traffic_group=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    runner = module_runner(module)
    try:
        result = read_status(runner, module.params)
    except HelmError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
