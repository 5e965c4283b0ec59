#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: helm_diff
short_description: Validate a chart's values, diff the release against the live objects, and decide whether to release
version_added: 1.1.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Renders the chart with the values files (C(helm template), against O(kube_version) when given), so that the
    values schema and the chart's own checks run before anything touches the cluster. Invalid values fail with
    helm's message.
  - With O(schedule_check), checks the rendered Deployments' and StatefulSets' hard scheduling rules against the
    cluster's nodes, so that a release whose pods would stay Pending fails here, naming the rule and the node count.
    A required podAntiAffinity against a workload's own pods allows one pod per topology domain, and one domain more
    for an upgrade whose rolling update surges first (C(maxUnavailable) 0); a C(DoNotSchedule) topology spread
    constraint needs nodes with its key. Only Ready, schedulable nodes whose taints the pod tolerates and that match
    its C(nodeSelector) count.
  - Then, with O(diff), runs the helm-diff plugin's three-way C(helm diff upgrade) against the live objects,
    secrets suppressed, manifests normalised, hooks left out.
  - Decides whether there is anything to release (RV(pending)) from the diff and the release's status. A release
    that is absent, failed or pending is always pending; a deployed one is pending when the diff shows changes.
  - Reports RV(ignore:changed=true) when the diff shows changes, so that a run with nothing to release reports
    no change. It changes nothing itself.
requirements:
  - helm >= 3.8.0 and the helm-diff plugin >= 3.9.0 (with O(diff)) on the host that runs the module
  - the kubernetes Python library and PyYAML (with O(schedule_check))
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
  - agent_service.platform.helm_release.release
  - agent_service.platform.helm_release.values
options:
  chart_ref:
    description: Path of the chart directory.
    type: path
    required: true
  values_files:
    description: Values files, later ones win (C(--values)).
    type: list
    elements: path
    default: []
  kube_version:
    description: Kubernetes version the chart is rendered for (C(helm template --kube-version)), for example V(1.34.2).
    type: str
  diff:
    description: Run C(helm diff upgrade). Without it the release is always pending.
    type: bool
    default: true
  context_lines:
    description: Lines of context around each change in the diff (C(helm diff --context)).
    type: int
    default: 3
  schedule_check:
    description:
      - Check the rendered workloads' hard scheduling rules against the cluster's nodes before the diff.
      - Needs read access to Nodes (C(list nodes), a cluster-scoped permission).
    type: bool
    default: true
  status:
    description:
      - The release's current status, as M(agent_service.platform.release_status) returned it (empty when it is
        not installed).
      - When omitted, the module reads it with C(helm history --max 1).
    type: str
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: The diff is returned as RV(text); the module does not use Ansible's diff mode.
    support: none
seealso:
  - module: agent_service.platform.release_status
  - module: agent_service.platform.helm_upgrade
"""

EXAMPLES = r"""
- name: Validate the values and diff the release
  agent_service.platform.helm_diff:
    release_name: agent-service
    release_namespace: prod
    chart_ref: /srv/charts/agent-service
    values_files: [/tmp/release/values.yaml]
    kube_version: 1.34.2
  register: diff

- name: Upgrade only when there is something to release
  agent_service.platform.helm_upgrade:
    release_name: agent-service
    release_namespace: prod
    chart_ref: /srv/charts/agent-service
    values_files: [/tmp/release/values.yaml]
  when: diff.pending
"""

RETURN = r"""
pending:
  description: Whether there is anything to release.
  returned: always
  type: bool
reason:
  description: Why RV(pending) is what it is.
  returned: always
  type: str
  sample: the diff shows changes
differs:
  description: Whether the diff shows changes; null when no diff was made.
  returned: always
  type: bool
summary:
  description: One line per changed resource ("namespace, name, Kind (group) has changed:").
  returned: always
  type: list
  elements: str
text:
  description: The output of C(helm diff upgrade), secrets suppressed.
  returned: always
  type: str
schedule:
  description: What the scheduling check saw; null without O(schedule_check).
  returned: always
  type: dict
  contains:
    nodes:
      description: The cluster's nodes, of every state.
      type: int
    skipped:
      description: Why the check did not run (the credentials may not list nodes); the module also warns.
      type: str
    workloads:
      description: The Deployments and StatefulSets checked.
      type: int
command:
  description: The C(helm diff upgrade) command that ran; empty without O(diff).
  returned: always
  type: list
  elements: str
"""

import functools

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.agent_service.platform.plugins.module_utils.helm import (
    VALUES_ARG_SPEC,
    HelmError,
    helm_arg_spec,
    module_runner,
    private_values,
)
from ansible_collections.agent_service.platform.plugins.module_utils.helm_release import run_diff
from ansible_collections.agent_service.platform.plugins.module_utils.k8s_client import has_kubernetes, list_nodes


def argument_spec():
    return helm_arg_spec(
        ("release_name", "release_namespace"),
        chart_ref=dict(type="path", required=True),
        values_files=dict(type="list", elements="path", default=[]),
        **VALUES_ARG_SPEC,
        kube_version=dict(type="str"),
        diff=dict(type="bool", default=True),
        context_lines=dict(type="int", default=3),
        status=dict(type="str"),
        schedule_check=dict(type="bool", default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    runner = module_runner(module)
    read_nodes = None
    if module.params["schedule_check"]:
        if not has_kubernetes():
            module.fail_json(msg=missing_required_lib("kubernetes"))
        read_nodes = functools.partial(list_nodes, module.params)
    try:
        runner.validate_version()
        with private_values(module.params) as params:
            result = run_diff(runner, params, read_nodes)
        if (result["schedule"] or {}).get("skipped"):
            module.warn(result["schedule"]["skipped"])
    except HelmError as exc:
        module.fail_json(**exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
