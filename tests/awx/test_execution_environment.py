"""The execution environment: `ansible-builder create` makes its build context.

No image is built here (no container registry for the base image, no GitHub/get.helm.sh for
helm): the tests check the definition against the versions the project tests with, run
`ansible-builder create`, check the Containerfile it writes, and run its galaxy stage's
install of our tarball plus the builder's introspection on this machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
EE_FILE = ROOT / "execution-environment.yml"
SITE_COLLECTIONS = Path(yaml.__file__).resolve().parents[1] / "ansible_collections"


def versions_env() -> dict[str, str]:
    pairs = (ln.split("=", 1) for ln in (ROOT / "versions.env").read_text().splitlines()
             if "=" in ln and not ln.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def dev_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.lower()] = version
    return pins


@pytest.fixture(scope="module")
def definition() -> dict:
    return yaml.safe_load(EE_FILE.read_text())


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> dict:
    """ansible-builder create, run on a copy of the definition next to a fresh collection tarball."""
    work = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(ROOT / name, work / name)
    build = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path",
         str(work / "build" / "collection"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", "ctx",
         "--output-filename", "Containerfile", "-v", "3"],
        cwd=work, capture_output=True, text=True, timeout=300)
    return {"work": work, "ctx": work / "ctx", "proc": proc}


def test_definition_is_builder_v3_with_the_tested_versions(definition):
    assert definition["version"] == 3
    deps = definition["dependencies"]
    pins = dev_pins()
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={pins['ansible-core']}"
    assert re.fullmatch(r"ansible-runner==\d+\.\d+\.\d+", deps["ansible_runner"]["package_pip"])
    assert deps["galaxy"] == "requirements.yml" and deps["system"] == "bindep.txt"
    for requirement in deps["python"]:
        name, version = requirement.split("==")
        assert pins[name.lower()] == version, f"{requirement} differs from requirements-dev.txt"
    # the Python the EE runs ansible-core 2.19 with (it needs >= 3.11)
    assert deps["python_interpreter"]["python_path"] == "/usr/bin/python3.11"


def test_helm_and_helm_diff_are_installed_at_the_project_versions(definition):
    steps = "\n".join(definition["additional_build_steps"]["append_final"])
    pinned = versions_env()
    assert f"ARG HELM_VERSION={pinned['HELM3_VERSION']}" in steps
    assert f"ARG HELM_DIFF_VERSION={pinned['HELM_DIFF_VERSION']}" in steps
    assert "ENV HELM_PLUGINS=/usr/local/share/helm/plugins" in steps
    assert "sha256sum -c" in steps and "helm diff version" in steps


def test_requirements_yml_pins_the_tested_collections_within_galaxy_ranges():
    required = {c["name"]: c["version"] for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    for name, spec in galaxy["dependencies"].items():
        assert name in required, f"galaxy.yml needs {name}; requirements.yml lacks it"
        assert required[name] in SpecifierSet(spec.replace("*", "")), f"{name} {required[name]} not in {spec}"
    for name, version in required.items():
        manifest = SITE_COLLECTIONS / name.replace(".", "/") / "MANIFEST.json"
        tested = json.loads(manifest.read_text())["collection_info"]["version"]
        assert version == tested, f"{name}: requirements.yml {version}, tests run {tested}"


def test_ansible_builder_create_writes_the_build_context(context):
    proc, ctx = context["proc"], context["ctx"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No matches" not in proc.stdout + proc.stderr, "the collection tarball was not found"
    for name in ("Containerfile", "_build/requirements.yml", "_build/requirements.txt", "_build/bindep.txt",
                 "_build/scripts/assemble", "_build/scripts/introspect.py"):
        assert (ctx / name).is_file(), name
    tarballs = list((ctx / "_build" / "collection").glob("agent_service-platform-*.tar.gz"))
    assert len(tarballs) == 1


def test_containerfile_stages_in_order(context):
    text = (context["ctx"] / "Containerfile").read_text()
    order = [
        'ARG EE_BASE_IMAGE="registry.access.redhat.com/ubi9/ubi:9.6"',
        "FROM $EE_BASE_IMAGE AS base",
        "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS",
        "FROM base AS galaxy",
        'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml',
        "ansible-galaxy collection install --offline --no-deps --collections-path /usr/share/ansible/collections"
        " /build/collection/agent_service-platform-*.tar.gz",
        "FROM base AS builder",
        "introspect.py introspect",
        "FROM base AS final",
        "install-from-bindep",
        "ENV HELM_PLUGINS=/usr/local/share/helm/plugins",
        "install -m 0755",
        "USER 1000",
    ]
    positions = [text.find(line) for line in order]
    missing = [line for line, pos in zip(order, positions, strict=True) if pos < 0]
    assert not missing, missing
    assert positions == sorted(positions), "Containerfile steps out of order"
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==' in text


def test_the_galaxy_stage_install_and_the_introspection_find_our_dependencies(context, tmp_path):
    """The append_galaxy command and the builder stage's introspection, run here."""
    ctx = context["ctx"]
    collections = tmp_path / "usr-share-ansible-collections"
    tarball = next((ctx / "_build" / "collection").glob("*.tar.gz"))
    # as in the image: no other collection path where the collection would count as installed already
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    install = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--collections-path",
         str(collections), str(tarball)], capture_output=True, text=True, timeout=300, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (collections / "ansible_collections" / "agent_service" / "platform" / "meta" / "runtime.yml").is_file()
    introspect = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "introspect", "--sanitize", "--user-pip",
         str(ctx / "_build" / "requirements.txt"), "--user-bindep", str(ctx / "_build" / "bindep.txt"),
         str(collections)], capture_output=True, text=True, timeout=300)
    assert introspect.returncode == 0, introspect.stderr
    found = yaml.safe_load(introspect.stdout.split("\n", 1)[1])
    python = " ".join(found["python"])
    assert "from collection agent_service.platform" in python and "kubernetes" in python
    assert any(s.startswith("git ") and "agent_service.platform" in s for s in found["system"])


def test_the_helm_install_step_passes_shellcheck(definition, tmp_path):
    shellcheck = VENV_BIN / "shellcheck"
    step = next(s for s in definition["additional_build_steps"]["append_final"] if "get.helm.sh" in s)
    script = tmp_path / "helm-step.sh"
    script.write_text("#!/bin/bash\nHELM_VERSION=x HELM_DIFF_VERSION=x HELM_PLUGINS=/x\n"
                      + step.removeprefix("RUN ") + "\n")
    proc = subprocess.run([str(shellcheck), "-s", "bash", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
