# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release a helm module acts on, its helm binary and how long it waits.

Twin of module_utils/helm.py HELM_RELEASE_ARG_SPEC (binary_path is in HELM_AUTH_ARG_SPEC).
``agent_service.platform.helm_release.release`` is the release and binary alone, for the modules
that only read; ``agent_service.platform.helm_release.values`` is VALUES_ARG_SPEC's option.
"""

from __future__ import annotations


class ModuleDocFragment:
    # ansible-test reads each fragment as a string literal, so RELEASE repeats the first options
    DOCUMENTATION = r"""
options:
  release_name:
    description: Name of the Helm release.
    type: str
    required: true
    aliases: [name]
  release_namespace:
    description: Namespace of the Helm release.
    type: str
    required: true
    aliases: [namespace]
  binary_path:
    description: Path of the helm binary; by default C(helm) is looked up in PATH.
    type: path
  wait:
    description: Wait until the release's resources are ready (C(--wait), Helm 4 C(--wait=watcher)).
    type: bool
    default: true
  wait_for_jobs:
    description: With O(wait), also wait for Jobs to complete (helm >= 3.5.0).
    type: bool
    default: false
  timeout:
    description: Go duration helm waits for each Kubernetes operation, for example V(5m0s).
    type: str
    default: 5m0s
"""

    RELEASE = r"""
options:
  release_name:
    description: Name of the Helm release.
    type: str
    required: true
    aliases: [name]
  release_namespace:
    description: Namespace of the Helm release.
    type: str
    required: true
    aliases: [namespace]
  binary_path:
    description: Path of the helm binary; by default C(helm) is looked up in PATH.
    type: path
"""

    VALUES = r"""
options:
  values_text:
    description:
      - Values as YAML (or JSON) text, the last layer after O(values_files).
      - The text goes to a temporary file only this user can read, removed when the module ends, so values that
        hold secrets never sit in a file the caller must clean up. It is not logged.
    type: str
"""
