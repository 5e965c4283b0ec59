"""playbooks/awx_setup.yml: what it would send to AWX, checked without an AWX server.

No AWX runs here, so nothing below proves how AWX reacts. What is checked:
- the playbook runs in check mode with awx_setup_apply=false and renders its definitions,
  contacting nothing; bad input stops it with a clear message; secrets stay out of the render;
- every definition passes the argument spec of the awx.awx module that would send it (the
  spec is taken from the module's own main(), ansible's ArgumentSpecValidator checks it), and
  each awx.awx task passes exactly the keys of its definitions;
- the surveys follow AWX's survey rules (question types, unique variables, choices/defaults,
  min/max) and ask for variables the release role accepts, with the role's choices;
- the credential type's injectors render with AWX's namespace (inputs + tower.filename.*) and
  feed names the inventories and the role read;
- the job templates point at playbooks, inventories and a project/EE that the render defines;
- with awx_setup_apply=true and no server, the awx.awx modules really try the controller.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "awx_setup.yml"
VENV_BIN = Path(sys.executable).parent
SECRET = "sekret-kubeconfig-do-not-render"
CREDENTIALS = {
    "dev": {"kubeconfig": f"apiVersion: v1\nkind: Config\n# {SECRET}\n", "prometheus_url": "http://prom:9090"},
    "prod": {"kubeconfig": f"apiVersion: v1\n# {SECRET}\n", "slack_webhook_url": "https://hooks.example/x"},
}
# AWX survey question types (awx/api/views: survey spec validation)
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
KIND_TO_MODULE = {
    "organization": "organization", "execution_environment": "execution_environment", "project": "project",
    "credential_type": "credential_type", "inventories": "inventory", "inventory_sources": "inventory_source",
    "credentials": "credential", "job_templates": "job_template",
}


def run_playbook(tmp_path: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
                    ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1",
                    CONTROLLER_HOST="https://127.0.0.1:9", CONTROLLER_OAUTH_TOKEN="none", **(env or {}))
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK), *extra], cwd=tmp_path, env=full_env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("awx")
    (tmp / "creds.json").write_text(json.dumps({"awx_setup_credentials": CREDENTIALS}))
    out = tmp / "awx.json"
    proc = run_playbook(tmp, "--check", "-e", "awx_setup_apply=false", "-e", f"awx_setup_render_file={out}",
                        "-e", f"@{tmp / 'creds.json'}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Apply the definitions" not in proc.stdout or "skipping" in proc.stdout
    text = out.read_text()
    assert SECRET not in text and SECRET not in proc.stdout, "a credential input leaked into the output"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    return json.loads(text)


def module_spec(name: str) -> dict:
    """The argument_spec the awx.awx module builds in its main(), without running it."""

    class Captured(Exception):
        pass

    class Capture:
        def __init__(self, argument_spec=None, **_kwargs):
            raise Captured(argument_spec)

    module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{name}")
    original = module.ControllerAPIModule
    module.ControllerAPIModule = Capture
    try:
        module.main()
    except Captured as captured:
        return captured.args[0]
    finally:
        module.ControllerAPIModule = original
    raise AssertionError(f"awx.awx.{name} built no module")


def playbook_tasks() -> dict[str, dict]:
    """awx.awx module name -> the task's arguments, from the playbook."""
    play = yaml.safe_load(PLAYBOOK.read_text().replace("!unsafe", ""))[0]
    found = {}
    for task in play["tasks"]:
        for sub in task.get("block", []):
            for key, args in sub.items():
                if key.startswith("awx.awx."):
                    found[key.removeprefix("awx.awx.")] = args
    return found


def items(rendered: dict, kind: str) -> list[dict]:
    value = rendered[kind]
    return value if isinstance(value, list) else [value]


def test_render_has_every_object(rendered):
    assert [i["name"] for i in rendered["inventories"]] == ["agent-service-dev", "agent-service-staging",
                                                            "agent-service-prod"]
    assert [t["name"] for t in rendered["job_templates"]] == ["agent-service deploy", "agent-service rollback",
                                                              "agent-service restore"]
    assert [c["name"] for c in rendered["credentials"]] == ["agent-service-dev", "agent-service-prod"]
    assert all(c["inputs"] == {} for c in rendered["credentials"])  # redacted in the render
    assert rendered["credential_type"]["name"] == "Agent Service platform"


@pytest.mark.parametrize("kind", sorted(KIND_TO_MODULE))
def test_definitions_pass_the_awx_module_argument_spec(rendered, kind):
    name = KIND_TO_MODULE[kind]
    spec = module_spec(name)
    task_args = playbook_tasks()[name]
    for item in items(rendered, kind):
        if kind == "credentials":
            item = dict(item, inputs={"kubeconfig": "x"})
        result = ArgumentSpecValidator(spec).validate(item)
        assert not result.error_messages, f"awx.awx.{name} {item['name']}: {result.error_messages}"
        # the task sends each rendered key, and only those (plus the fixed `wait` of the project)
        missing = set(item) - set(task_args)
        assert not missing, f"awx.awx.{name} task does not send {missing}"
    sent = set(task_args) - {"wait"}
    optional = {"credential"} if kind == "project" else set()  # only with awx_setup_scm_credential
    rendered_keys = set().union(*(set(i) for i in items(rendered, kind))) | optional
    assert sent <= rendered_keys, f"awx.awx.{name} task sends keys the render lacks: {sent - rendered_keys}"


def role_options() -> dict:
    specs = yaml.safe_load((ROOT / "roles" / "release" / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return specs["main"]["options"]


def validate_survey(survey: dict) -> None:
    """AWX's rules for a survey spec, restated."""
    assert isinstance(survey["name"], str) and isinstance(survey["description"], str)
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables)), "duplicate survey variables"
    for question in survey["spec"]:
        assert {"question_name", "variable", "type", "required"} <= set(question)
        assert question["type"] in SURVEY_TYPES
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", question["variable"])
        assert isinstance(question["required"], bool)
        if question["type"] in {"multiplechoice", "multiselect"}:
            choices = question["choices"]
            assert isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices)
            assert question.get("default", "") in ["", *choices]
        if question["type"] in {"text", "textarea", "password", "integer", "float"} and "min" in question:
            assert isinstance(question["min"], int) and isinstance(question["max"], int)
            assert question["min"] <= question["max"]
            default = question.get("default", "")
            if question["type"] == "integer":
                assert isinstance(default, int) and question["min"] <= default <= question["max"]
            elif default != "":
                assert question["min"] <= len(default) <= question["max"]


def test_surveys_follow_awx_rules_and_ask_what_the_role_takes(rendered):
    options = role_options()
    by_name = {t["name"].split()[-1]: t for t in rendered["job_templates"]}
    wanted = {"deploy": ["release_env", "release_version", "release_strategy"],
              "rollback": ["release_env", "release_rollback_revision"],
              "restore": ["release_env", "release_restore_backup"]}
    for name, variables in wanted.items():
        template = by_name[name]
        assert template["survey_enabled"] is True
        validate_survey(template["survey_spec"])
        questions = {q["variable"]: q for q in template["survey_spec"]["spec"]}
        assert list(questions) == variables
        for variable, question in questions.items():
            option = options[variable]
            if "choices" in option:
                assert question["choices"] == option["choices"], variable
            if option["type"] == "int":
                assert question["type"] == "integer"
    assert by_name["deploy"]["survey_spec"]["spec"][1]["required"] is True  # a deploy names its version


def test_job_templates_point_at_what_exists(rendered):
    inventories = {i["name"] for i in rendered["inventories"]}
    for template in rendered["job_templates"]:
        assert (ROOT / template["playbook"]).is_file(), template["playbook"]
        assert template["project"] == rendered["project"]["name"]
        assert template["execution_environment"] == rendered["execution_environment"]["name"]
        assert template["inventory"] in inventories and template["ask_inventory_on_launch"] is True
        assert template["ask_credential_on_launch"] is True
        assert template["credentials"] == ["agent-service-dev"]
    assert rendered["project"]["default_environment"] == rendered["execution_environment"]["name"]
    assert rendered["project"]["scm_type"] == "git" and rendered["project"]["scm_update_on_launch"] is True


def test_inventory_sources_are_the_project_inventories(rendered):
    for source in rendered["inventory_sources"]:
        env = source["inventory"].removeprefix("agent-service-")
        path = ROOT / source["source_path"]
        assert path.is_file(), source["source_path"]
        hosts = yaml.safe_load(path.read_text())["all"]["children"]["agent_service"]["hosts"]
        assert hosts, f"{path} has no agent_service host"
        group_vars = yaml.safe_load((path.parent / "group_vars" / "agent_service" / "main.yml").read_text())
        assert group_vars["release_inventory_env"] == env
        assert source["source"] == "scm" and source["source_project"] == rendered["project"]["name"]


def test_credential_type_injectors_render_with_the_awx_namespace(rendered):
    ctype = rendered["credential_type"]
    fields = ctype["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids)) and set(ctype["inputs"]["required"]) <= set(ids)
    assert all(f["type"] in {"string", "boolean"} for f in fields)
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    # AWX's namespace: every input (unset optional strings are empty) and tower.filename.<file>
    files = [k.removeprefix("template.") for k in ctype["injectors"]["file"]]
    assert files == ["kubeconfig"]
    namespace = {i: "" for i in ids} | {"kubeconfig": "apiVersion: v1", "tower": {"filename": {"kubeconfig": "/t/k"}}}
    for section in ("file", "env", "extra_vars"):
        for key, template in ctype["injectors"][section].items():
            env.from_string(template).render(namespace)
            if section == "env":
                assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", key)
    assert ctype["injectors"]["env"]["KUBECONFIG"] == "{{ tower.filename.kubeconfig }}"
    inventories = "".join(p.read_text() for p in (ROOT / "inventories").rglob("*.yml"))
    options = role_options()
    for name in ctype["injectors"]["extra_vars"]:
        assert name in options or name in inventories, f"{name} is read by neither the role nor the inventories"


def test_bad_input_stops_with_a_clear_message(tmp_path):
    proc = run_playbook(tmp_path, "--check", "-e", "awx_setup_apply=false", "-e", '{"awx_setup_environments": ["qa"]}')
    assert proc.returncode != 0 and "Bad input" in proc.stdout and '["qa"]' in proc.stdout
    (tmp_path / "creds.json").write_text(json.dumps({"awx_setup_credentials": {"dev": {"prometheus_url": "x"}}}))
    proc = run_playbook(tmp_path, "--check", "-e", "awx_setup_apply=false", "-e", f"@{tmp_path / 'creds.json'}")
    assert proc.returncode != 0 and "include kubeconfig" in proc.stdout


def test_applying_without_a_controller_fails_at_the_first_awx_module(tmp_path):
    """Check mode does not spare the controller: awx.awx looks objects up before it would change them."""
    proc = run_playbook(tmp_path, "--check")
    assert proc.returncode != 0
    assert "TASK [Execution environment]" in proc.stdout
    assert "127.0.0.1:9" in proc.stdout


def test_a_private_repository_gets_its_scm_credential(tmp_path):
    out = tmp_path / "awx.json"
    proc = run_playbook(tmp_path, "--check", "-e", "awx_setup_apply=false", "-e", f"awx_setup_render_file={out}",
                        "-e", "awx_setup_scm_credential=github-deploy-key",
                        "-e", '{"awx_setup_environments": ["prod"]}')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rendered = json.loads(out.read_text())
    assert rendered["project"]["credential"] == "github-deploy-key"
    assert not ArgumentSpecValidator(module_spec("project")).validate(rendered["project"]).error_messages
    assert [i["name"] for i in rendered["inventories"]] == ["agent-service-prod"]
    assert all(t["inventory"] == "agent-service-prod" for t in rendered["job_templates"])
    assert rendered["job_templates"][0]["survey_spec"]["spec"][0]["choices"] == ["prod"]
