"""Galaxy: build the collection, import it with galaxy-importer, install it elsewhere.

- `ansible-galaxy collection build` of the checkout gives one tarball with the plugins, roles,
  playbooks and the chart, and none of the repository's tooling (app, tests, test bed, CI).
- galaxy-importer (the code Galaxy runs on upload, PyPI) accepts the tarball: ansible-doc on
  every plugin, ansible-lint, changelog (settings in galaxy-importer.cfg).
- A throwaway git repository outside the checkout installs the collection through its own
  requirements.yml, once from the tarball and once from a git+file:// URL of this repository,
  then uses it by FQCN: ansible-doc on the modules and the role, --syntax-check of
  agent_service.platform.deploy, `ansible-galaxy collection verify`.
  Galaxy's server is not reachable here: the dependencies (kubernetes.core, community.general)
  are put into the throwaway collections path first, copied from the ansible package at the
  versions requirements.yml pins, and the installs run with --offline, which resolves them there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
SITE_COLLECTIONS = Path(yaml.__file__).resolve().parents[1] / "ansible_collections"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
MODULES = ("semver_next", "error_rate_check", "helm_rollback")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}


def run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", **(env or {}))
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), "."],
               cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = list(out.glob("*.tar.gz"))
    assert [p.name for p in built] == [f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"]
    return built[0]


def test_tarball_holds_the_collection_and_no_repository_tooling(tarball):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for wanted in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "roles/release/meta/argument_specs.yml",
                   "playbooks/deploy.yml", "helm/agent-service/Chart.yaml", "requirements.txt", "bindep.txt",
                   *(f"plugins/modules/{m}.py" for m in MODULES)):
        assert wanted in names, f"{wanted} missing from {tarball.name}"
    for unwanted in ("app", "tests", "testbed", ".github", "bench", "mk", "Makefile", "versions.env", ".git"):
        assert not any(n == unwanted or n.startswith(unwanted + "/") for n in names), f"{unwanted} is in the tarball"


def test_the_readmes_galaxy_requires_are_in_the_tarball(tarball):
    """galaxy-importer stops at the first missing one ("No role readme found"): name them all."""
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    roles = sorted({n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2})
    missing = [p for p in [GALAXY["readme"], *(f"roles/{r}/README.md" for r in roles)] if p not in names]
    assert not missing, f"missing from the collection: {missing}"


def test_galaxy_importer_accepts_the_tarball(tarball, tmp_path):
    proc = run([sys.executable, "-m", "galaxy_importer.main", "--print-result", str(tarball)], cwd=tmp_path,
               env={"GALAXY_IMPORTER_CONFIG": str(HERE / "galaxy-importer.cfg"),
                    "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "HOME": str(tmp_path)},
               timeout=900)
    log = proc.stdout + proc.stderr
    print(log[-6000:])
    assert proc.returncode == 0, log[-4000:]
    assert "Importer processing completed successfully" in log
    # a logged error starts a line ("ERROR: ..."); docs rendered into the result may say FAULT_ERROR_RATE
    errors = [line for line in log.splitlines() if line.lstrip().startswith("ERROR")]
    assert not errors, errors
    result = json.loads(log[log.index("{"):log.rindex("}") + 1])
    contents = {(c["content_type"], c["name"]) for c in result["contents"]}
    for module in MODULES:
        assert ("module", module) in contents
    assert ("role", "release") in contents
    documented = {p["content_name"] for p in result["docs_blob"]["contents"]
                  if p["content_type"] == "module" and p.get("doc_strings")}
    assert set(MODULES) <= documented, "ansible-doc gave no documentation for some modules"


# --- installs into a throwaway repository -------------------------------------------------

def consumer_repo(tmp_path: Path, requirement: dict) -> tuple[Path, dict]:
    """A git repository outside the checkout with a requirements.yml and a collections path."""
    repo = tmp_path / "consumer"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=repo, env=GIT_ENV)
    collections = repo / "collections"
    pinned = {c["name"]: c["version"] for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    for name in GALAXY["dependencies"]:
        source = SITE_COLLECTIONS / name.replace(".", "/")
        manifest = json.loads((source / "MANIFEST.json").read_text())["collection_info"]
        assert manifest["version"] == pinned[name], f"{name}: ansible has {manifest['version']}, pinned {pinned[name]}"
        shutil.copytree(source, collections / "ansible_collections" / name.replace(".", "/"), symlinks=True)
    (repo / "requirements.yml").write_text(yaml.safe_dump({"collections": [requirement]}))
    (repo / "inventory.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"agent_service": {"hosts": {"agent-service-ci": {"ansible_connection": "local"}}}}}}))
    (repo / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\ncollections_scan_sys_path = false\n")
    env = {"ANSIBLE_CONFIG": str(repo / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(collections),
           "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
    run(["git", "add", "."], cwd=repo, env=GIT_ENV)
    run(["git", "commit", "-q", "-m", "consumer"], cwd=repo, env=GIT_ENV)
    return repo, env


def install_and_use(repo: Path, env: dict) -> None:
    install = run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
                   "-p", "collections"], cwd=repo, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    assert f"{FQCN}:{GALAXY['version']} was installed successfully" in install.stdout
    # verified before use: loading the plugins writes __pycache__ into the installed tree unless
    # PYTHONDONTWRITEBYTECODE is set, and verify reports that as modified content
    verify = run([str(VENV_BIN / "ansible-galaxy"), "collection", "verify", "--offline", "-p", "collections", FQCN],
                 cwd=repo, env=env)
    assert verify.returncode == 0 and "internally consistent" in verify.stdout, verify.stdout + verify.stderr
    installed = repo / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    # the role's default chart path, resolved inside the installed collection
    assert (installed / "roles" / "release" / ".." / ".." / "helm" / "agent-service" / "Chart.yaml").is_file()

    listed = run([str(VENV_BIN / "ansible-doc"), "-t", "module", "-l", FQCN], cwd=repo, env=env)
    assert listed.returncode == 0, listed.stderr
    for module in MODULES:
        assert f"{FQCN}.{module}" in listed.stdout
        doc = run([str(VENV_BIN / "ansible-doc"), "-j", "-t", "module", f"{FQCN}.{module}"], cwd=repo, env=env)
        assert doc.returncode == 0, doc.stderr
        data = json.loads(doc.stdout)[f"{FQCN}.{module}"]
        assert data["doc"]["module"] == module and str(installed) in data["doc"]["filename"]
    role = run([str(VENV_BIN / "ansible-doc"), "-t", "role", f"{FQCN}.release"], cwd=repo, env=env)
    assert role.returncode == 0 and "release_version" in role.stdout, role.stderr

    for playbook in ("deploy", "rollback", "backup", "restore", "release"):
        check = run([str(VENV_BIN / "ansible-playbook"), "-i", "inventory.yml", f"{FQCN}.{playbook}",
                     "--syntax-check"], cwd=repo, env=env)
        assert check.returncode == 0, f"{playbook}: {check.stdout}{check.stderr}"
        assert f"playbook: {installed}/playbooks/{playbook}.yml" in check.stdout



def test_install_from_the_tarball_through_requirements_yml(tarball, tmp_path):
    repo, env = consumer_repo(tmp_path, {"name": str(tarball), "type": "file"})
    install_and_use(repo, env)


def test_install_from_a_git_url_through_requirements_yml(tmp_path):
    head = run(["git", "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    assert len(head) == 40
    repo, env = consumer_repo(tmp_path, {"name": f"git+file://{ROOT}", "type": "git", "version": head})
    install_and_use(repo, env)
