#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release_report
short_description: Write a release's report, put its deploy marker and remove the run's scratch directory
version_added: 1.1.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - The report stage of the release role in one module run.
  - Writes O(report) as C(<base>.json) and O(markdown) as C(<base>.md), each replaced atomically, creating the
    directory (mode C(0750)) when missing.
  - With O(marker), creates the deploy marker ConfigMap (replaced when one of the same name exists), then keeps
    only the newest O(marker.retention) ConfigMaps that O(marker.selector) selects in O(marker.namespace).
  - Removes O(work_dir), the run's private scratch directory, when it exists.
requirements:
  - the kubernetes Python library (a dependency of kubernetes.core), when O(marker) is given
extends_documentation_fragment:
  - agent_service.platform.k8s_auth
options:
  base:
    description: Path of the report without its extension.
    type: path
    required: true
  report:
    description: The report, written as JSON (keys sorted, indented).
    type: dict
    required: true
  markdown:
    description: The report as Markdown.
    type: str
    required: true
  mode:
    description: File mode of both report files.
    type: raw
    default: "0640"
  marker:
    description: The deploy marker; omitted, no marker is written and none is pruned.
    type: dict
    suboptions:
      name:
        description: Name of the marker ConfigMap.
        type: str
        required: true
      namespace:
        description: Namespace of the marker.
        type: str
        required: true
      labels:
        description: Labels of the marker.
        type: dict
        default: {}
      data:
        description: Data of the marker; a value that is not a string is stored as JSON.
        type: dict
        default: {}
      selector:
        description: Label selector of this release's markers, for the retention.
        type: str
        required: true
      retention:
        description: How many of the newest markers to keep.
        type: int
        default: 20
  work_dir:
    description: The run's scratch directory, removed when it exists.
    type: path
attributes:
  check_mode:
    description: Writes and deletes nothing, and says which files it would write.
    support: full
  diff_mode:
    description: Not supported.
    support: none
seealso:
  - module: kubernetes.core.k8s
notes:
  - The credentials need C(create), C(update), C(list) and C(delete) on ConfigMaps in the marker's namespace.
"""

EXAMPLES = r"""
- name: Write the report and the deploy marker
  agent_service.platform.release_report:
    base: /var/lib/agent-service/reports/prod-agent-service-20261207T120000Z-succeeded
    report: "{{ report }}"
    markdown: "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"
    marker:
      name: agent-service-deploy-7-20261207120000
      namespace: prod
      labels: {app.kubernetes.io/component: deploy-marker, app.kubernetes.io/instance: agent-service}
      data: {report.json: "{{ report | to_json }}"}
      selector: app.kubernetes.io/component=deploy-marker,app.kubernetes.io/instance=agent-service
      retention: 20
    work_dir: /var/lib/agent-service/reports/.work-prod-agent-service
"""

RETURN = r"""
files:
  description: The report's paths.
  returned: always
  type: dict
  sample: {json: /reports/prod-agent-service-20261207T120000Z-succeeded.json,
           markdown: /reports/prod-agent-service-20261207T120000Z-succeeded.md}
marker:
  description: The name of the marker written, or null.
  returned: always
  type: str
pruned:
  description: The markers deleted by the retention, oldest last.
  returned: always
  type: list
  elements: str
work_dir_removed:
  description: Whether the scratch directory existed and was removed.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.agent_service.platform.plugins.module_utils.k8s_client import (  # noqa: E402
    api_client,
    has_kubernetes,
    k8s_arg_spec,
)
from ansible_collections.agent_service.platform.plugins.module_utils.release_report import (  # noqa: E402
    ReportError,
    prune_markers,
    put_marker,
    remove_work_dir,
    write_files,
)


def argument_spec():
    return k8s_arg_spec(
        base=dict(type="path", required=True),
        report=dict(type="dict", required=True),
        markdown=dict(type="str", required=True),
        mode=dict(type="raw", default="0640"),
        marker=dict(type="dict", options=dict(
            name=dict(type="str", required=True),
            namespace=dict(type="str", required=True),
            labels=dict(type="dict", default={}),
            data=dict(type="dict", default={}),
            selector=dict(type="str", required=True),
            retention=dict(type="int", default=20),
        )),
        work_dir=dict(type="path"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params, marker = module.params, module.params["marker"]
    if marker and marker["retention"] < 1:
        module.fail_json(msg=f"marker.retention must keep at least 1 marker, got {marker['retention']}")
    try:
        mode = int(str(params["mode"]), 8)
    except ValueError:
        module.fail_json(msg=f"mode must be an octal file mode such as 0640, got {params['mode']!r}")
    if marker and not has_kubernetes():
        module.fail_json(msg=missing_required_lib("kubernetes"))
    result = dict(changed=not module.check_mode, files={"json": params["base"] + ".json",
                                                        "markdown": params["base"] + ".md"},
                  marker=None, pruned=[], work_dir_removed=False)
    if module.check_mode:
        module.exit_json(**result)
    try:
        result["files"] = write_files(params["base"], params["report"], params["markdown"], mode)
        if marker:
            from kubernetes import client  # pylint: disable=import-outside-toplevel

            core = client.CoreV1Api(api_client(params))
            result["marker"] = put_marker(core, marker["name"], marker["namespace"], marker["labels"], marker["data"])
            result["pruned"] = prune_markers(core, marker["namespace"], marker["selector"], marker["retention"])
    except ReportError as exc:
        module.fail_json(msg=exc.msg, **result)
    except Exception as exc:  # pylint: disable=broad-except  # the API client's errors have no common base
        module.fail_json(msg=f"the deploy marker in {marker['namespace'] if marker else '?'}: {exc}", **result)
    finally:
        # the scratch directory holds values with secrets: it goes whether or not the rest succeeded
        result["work_dir_removed"] = remove_work_dir(params["work_dir"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
