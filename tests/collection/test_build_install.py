"""galaxy build → install into an empty collections path → a playbook calls every module and filter by FQCN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "modules"))
from prometheus_server import Exporter, Prometheus  # noqa: E402

PROMETHEUS_PORT = 59093
EXPORTER_PORT = 59094
MODULES = ["semver_next", "error_rate_check"]
FILTERS = ["semver_parse", "semver_compare", "semver_bump", "image_tags", "conventional_bump"]


def run(cmd, env=None, cwd=None):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built from the checkout and installed into an empty collections path."""
    work = tmp_path_factory.mktemp("galaxy")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(work / "dist"), str(ROOT)])
    tarballs = list((work / "dist").glob("agent_service-platform-*.tar.gz"))
    assert len(tarballs) == 1
    colls = work / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(colls), ANSIBLE_HOME=str(work / "ansible-home"))
    # kubernetes.core and community.general come with the pinned `ansible` package (offline): --no-deps.
    run(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(colls), str(tarballs[0])], env=env)
    return dict(work=work, tarball=tarballs[0], colls=colls, env=env)


def test_artifact_contents(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = set(tar.getnames())
    manifest = json.loads((installed["colls"] / "ansible_collections/agent_service/platform/MANIFEST.json").read_text())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["license"]) == ("agent_service", "platform", ["GPL-3.0-or-later"])
    assert set(info["dependencies"]) == {"kubernetes.core", "community.general"}
    for required in ("plugins/modules/semver_next.py", "plugins/modules/error_rate_check.py", "meta/runtime.yml",
                     "plugins/filter/release.py", "plugins/filter/image_tags.yml", "LICENSE",
                     "plugins/doc_fragments/prometheus.py", "meta/execution-environment.yml"):
        assert required in names, required
    if (ROOT / "helm/agent-service/Chart.yaml").exists():
        # the chart ships inside the artifact with its generated files, without their generators
        for shipped in ("Chart.yaml", "values.yaml", "values.schema.json", "README.md"):
            assert f"helm/agent-service/{shipped}" in names, shipped
        for dev_only in ("helm/agent-service/hack", "helm/agent-service/README.md.gotmpl"):
            assert not any(n == dev_only or n.startswith(dev_only + "/") for n in names), dev_only
    for excluded in ("app", "tests", "molecule", "bench", ".github", ".venv", ".cache", "testbed"):
        assert not any(n == excluded or n.startswith(excluded + "/") for n in names), excluded


def test_installed_in_empty_path(installed):
    out = run(["ansible-galaxy", "collection", "list", "agent_service.platform", "--format", "json"],
              env=installed["env"])
    found = {path: cols for path, cols in json.loads(out).items()}
    assert list(found) == [str(installed["colls"] / "ansible_collections")]
    assert found[str(installed["colls"] / "ansible_collections")]["agent_service.platform"]["version"] == "1.0.0"


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_module(installed, name):
    out = run(["ansible-doc", f"agent_service.platform.{name}"], env=installed["env"])
    assert str(installed["colls"]) in out and "ATTRIBUTES" in out and "RETURN VALUES" in out


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_filter(installed, name):
    out = run(["ansible-doc", "-t", "filter", f"agent_service.platform.{name}"], env=installed["env"])
    assert "EXAMPLES" in out


PLAYBOOK = """
- name: Every module and filter of agent_service.platform by FQCN
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/agent_service.platform.prometheus:
      prometheus_url: "{{ prometheus_url }}"
  tasks:
    - name: Next version of the test repository, tagged
      agent_service.platform.semver_next:
        path: "{{ repo }}"
        create_tag: true
      register: version

    - name: Error ratio of a healthy release (connection from module_defaults)
      agent_service.platform.error_rate_check:
        namespace: below
        job: agent-service
        window: 30s
        threshold: 0.05
      register: healthy

    - name: Error ratio of a failing release, verdict read by the caller
      agent_service.platform.error_rate_check:
        namespace: above
        job: agent-service
        window: 30s
        threshold: 0.05
        fail_on_failure: false
      register: unhealthy

    - name: Check results and filters
      ansible.builtin.assert:
        that:
          - version.next_version == '1.1.0' and version.next_tag == 'v1.1.0'
          - version.image_tags[:4] == ['v1.1.0', 'v1.1', 'v1', 'latest'] and version.version_tag == 'v1.1.0'
          - healthy.passed and healthy.verdict == 'successful' and not healthy.changed
          - not unhealthy.passed and unhealthy.verdict == 'failed'
          - (version.next_version | agent_service.platform.semver_parse).minor == 1
          - "'1.0.0' | agent_service.platform.semver_compare(version.next_version) == -1"
          - version.next_version | agent_service.platform.semver_bump('major') == '2.0.0'
          - ('0.4.0' | agent_service.platform.image_tags(branch='dev', sha='abcdef0123')) == zero_tags
          - (messages | agent_service.platform.conventional_bump) == 'minor'
      vars:
        messages: ["fix: a", "feat(api): b"]
        zero_tags: ["v0.4.0", "v0.4", "dev-abcdef01"]
"""


def test_playbook_uses_every_module_and_filter(installed, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    genv = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="T",
                GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull)
    run(["git", "init", "-q", "-b", "main"], env=genv, cwd=repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", "feat: first"], env=genv, cwd=repo)
    run(["git", "tag", "v1.0.0"], env=genv, cwd=repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", "feat(api): second"], env=genv, cwd=repo)

    exporter = Exporter(EXPORTER_PORT).start()
    prometheus = Prometheus(tmp_path / "prometheus", PROMETHEUS_PORT, EXPORTER_PORT).start()
    try:
        prometheus.wait_for('sum(rate(http_requests_total{namespace="below"}[30s]))')
        (tmp_path / "play.yml").write_text(PLAYBOOK)
        env = dict(installed["env"], ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        cmd = ["ansible-playbook", "-e", f"repo={repo}", "-e", f"prometheus_url={prometheus.url}",
               "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")]
        first = run(cmd, env=env)
        assert "ok=4" in first and "changed=1" in first and "failed=0" in first
        again = run(cmd, env=env)  # the tag exists now: nothing changes
        assert "ok=4" in again and "changed=0" in again and "failed=0" in again
    finally:
        prometheus.stop()
        exporter.stop()
    assert run(["git", "tag", "--list"], cwd=repo).split() == ["v1.0.0", "v1.1.0"]
