# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release a helm module acts on, and its helm binary; twin of module_utils/helm.py HELM_RELEASE_ARG_SPEC."""

from __future__ import annotations


class ModuleDocFragment:
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
"""
