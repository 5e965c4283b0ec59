"""docs/deployment-guide.md names only things that exist.

The guide's code (fenced blocks and inline code spans) is parsed, and every name it uses is
looked up in the project's real sources:

* playbooks (`agent_service.platform.<name>` in an ansible-playbook command, or
  `playbooks/<name>.yml`): playbooks/; any other `agent_service.platform.<name>`: a playbook,
  role, module or filter of the collection;
* make targets (`make <target>`): make's own database (`make -pRrq`), which no recipe runs for;
* values keys (`--set a.b=1`, `release_extra_values` maps, YAML blocks, `a.b.c` in inline code):
  helm/agent-service/values.yaml, else values.schema.json;
* variables (`-e name=...`, `release_*` in inline code, YAML blocks): the roles' argument specs
  and defaults, the playbooks' vars and the inventories' group_vars (and the vault variables
  they read);
* tags (`--tags`, `--skip-tags`): the tags of roles/ and playbooks/;
* inventories and repository paths (`inventories/<env>`, `helm/...`, `roles/...`): the checkout.

Each check also runs on a small fake guide with bad names and must report each by name, the
real guide must name at least a minimum of each kind, and it must have the sections an operator
needs (install, upgrade, rollback, backup, restore, environments, troubleshooting of the five
failures the pipeline reports). The error texts the guide quotes must still be in the sources.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment-guide.md"
CHART = ROOT / "helm" / "agent-service"
COLLECTION = "agent_service.platform"

SHELL_LANGS = {"bash", "sh", "shell", "console"}
# variables the guide may name in prose or pass with -e: the collection's roles and playbooks,
# and the vault variables the inventories read
VARIABLE_RE = re.compile(r"(?:release|monitoring_stack|awx_setup|vault_agent_service)_[a-z0-9_]*")
# role variables whose value is a map of chart values
VALUES_VARIABLES = {"release_values", "release_extra_values", "release_canary_values"}
# a dotted values key in inline code: api.autoscaling.enabled, resources.limits.ephemeral-storage
VALUES_KEY_RE = re.compile(r"[a-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9-]*)+")
# dotted words that are not values keys: file names and host names
NOT_VALUES_SUFFIXES = {"yaml", "yml", "json", "md", "py", "txt", "dump", "tpl", "j2", "mk", "env", "sh", "gz",
                       "tgz", "log", "io", "com", "org", "net", "internal", "svc", "local"}
REPO_DIRS = ("helm", "roles", "playbooks", "plugins", "docs", "monitoring", "testbed", "inventories", "scripts",
             "tests", "mk", "molecule", "meta", "changelogs")
PATH_RE = re.compile(r"(?<![\w./~$-])((?:" + "|".join(REPO_DIRS) + r")/[\w./<>*-]*)")
# files that an operator creates, so the guide may name them before they exist
OPERATOR_FILES = {"vault.yml"}
ANSIBLE_BUILTIN_TAGS = {"all", "always", "never", "tagged", "untagged"}

MINIMUM = {"playbooks": 6, "make_targets": 3, "values_keys": 25, "variables": 40, "inventories": 3, "tags": 2}
REQUIRED_SECTIONS = {
    "install": r"^## Install\b",
    "upgrade": r"^## Upgrade\b",
    "rollback": r"^## Rollback\b",
    "backup": r"^## Backup\b",
    "restore": r"^## Restore\b",
    "environments": r"^## Environments\b",
    "playbooks beside helm": r"^## Playbooks and their helm equivalents\b",
    "troubleshooting": r"^## Troubleshooting\b",
}
TROUBLESHOOTING = {
    "stuck release": r"pending-",
    "failed analysis": r"analysis",
    "failed migration hook": r"migration hook",
    "release lock held": r"lock",
    "values schema error": r"schema",
}
# error texts the guide quotes, and the file that produces each (a change there makes the guide stale)
QUOTED = [
    ("another run is releasing it", "plugins/module_utils/lease.py"),
    ("-release-lock is held by", "README.md"),
    ("Analysis failed for ", "roles/release/tasks/analysis.yml"),
    ("release_analysis_enabled is true but release_prometheus_url is empty; set it or disable the analysis.",
     "roles/release/tasks/analysis.yml"),
    ("failed measurement(s) exceed failure_limit", "plugins/module_utils/analysis.py"),
    ("(fail closed); last: ", "plugins/module_utils/analysis.py"),
    ("consecutive errors exceed consecutive_error_limit", "plugins/module_utils/analysis.py"),
    ("the query returned an empty result (no series: no traffic or wrong selector)",
     "plugins/module_utils/analysis.py"),
    ("the query returned NaN (no requests in the window: 0/0)", "plugins/module_utils/analysis.py"),
    ("cannot reach Prometheus at ", "plugins/module_utils/prometheus.py"),
    ("the rendered values are invalid; nothing was changed on the cluster. helm says: ",
     "plugins/module_utils/helm_release.py"),
    ("... failed (rc=", "plugins/module_utils/runner.py"),
    ("recovered release stuck in ", "roles/release/tasks/preflight.yml"),
    ("took over the release lock of ", "roles/release/tasks/preflight.yml"),
    ("(its process is gone)", "roles/release/tasks/preflight.yml"),
    ("No kubeconfig: ", "roles/release/tasks/preflight.yml"),
    ("Nothing was changed on any cluster.", "roles/release/tasks/preflight.yml"),
    ("This inventory is for ", "roles/release/tasks/preflight.yml"),
    ("Set release_version (the image tag to deploy) or release_git_path (a git repository for semver_next).",
     "roles/release/tasks/version.yml"),
    ("already reverted by the atomic upgrade", "roles/release/tasks/rollback.yml"),
    ("failed_first_install", "roles/release/tasks/rollback.yml"),
    ("canary_aborted", "roles/release/tasks/rollback_canary.yml"),
    ("VALUES VALIDATION:", "helm/agent-service/templates/_helpers.tpl"),
    (
        "is a rolling tag; pin a version, set image.digest, or set image.allowRollingTag",
        "helm/agent-service/templates/_helpers.tpl",
    ),
]


# ----------------------------------------------------------------------------- the project's names


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads Ansible's tags (`!unsafe`, `!vault`) as their plain values."""


def _plain(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _plain)


def _yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader subclass


@functools.cache
def playbooks() -> frozenset[str]:
    return frozenset(p.stem for p in (ROOT / "playbooks").glob("*.yml"))


@functools.cache
def collection_content() -> frozenset[str]:
    """Playbooks, roles, modules and filters: what `agent_service.platform.<name>` can name."""
    names = set(playbooks())
    names |= {p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()}
    names |= {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    names |= {p.stem for p in (ROOT / "plugins" / "filter").glob("*.yml")}
    return frozenset(names)


@functools.cache
def make_targets() -> frozenset[str]:
    """The targets in make's database: `make -pRrq` on a goal that does not exist, so that make
    stops before any recipe (even a `+` one) could run."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES"}}
    proc = subprocess.run(["make", "-pRrq", "-f", "Makefile", "--no-print-directory", "no-such-goal.deployment-guide"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    return parse_make_database(proc.stdout)


def parse_make_database(text: str) -> frozenset[str]:
    if "# Files" not in text:
        raise RuntimeError("make -p printed no database")
    targets, in_files, in_define, previous = set(), False, False, ""
    for line in text.splitlines():
        if line.startswith("# Files"):
            in_files = True
        elif line.startswith("# files hash-table stats"):
            in_files = False
        elif in_files and not in_define and line.startswith("define "):
            in_define = True
        elif in_define:
            in_define = line != "endef"
        elif in_files and previous != "# Not a target:":
            match = re.match(r"^([^#\s:=%.][^:=%]*?)::?(?!=)", line)
            if match:
                targets.update(match.group(1).split())
        previous = line
    return frozenset(targets)


@functools.cache
def chart_values() -> dict:
    return _yaml(CHART / "values.yaml")


@functools.cache
def chart_schema() -> dict:
    return json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def _in_values(node, path: list[str]) -> bool:
    for i, key in enumerate(path):
        if isinstance(node, dict) and not node:
            return True  # an empty map: free-form (annotations, workerPools, config.extra)
        if isinstance(node, list):
            return True
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
        if i == len(path) - 1:
            return True
    return True


def _schema_parts(node: dict) -> list[dict]:
    parts = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            if isinstance(sub, dict):
                parts += _schema_parts(sub)
    return parts


def _in_schema(node: dict, path: list[str]) -> bool:
    for key in path:
        parts = _schema_parts(node)
        props = [p["properties"][key] for p in parts if key in (p.get("properties") or {})]
        if props:
            node = props[0]
            continue
        extra = [p.get("additionalProperties") for p in parts if p.get("additionalProperties") not in (None, False)]
        if extra or any(p.get("patternProperties") for p in parts):
            return True  # a map of free keys
        return False
    return True


def values_key_exists(key: str) -> bool:
    path = [part for part in re.sub(r"\[\d+\]", "", key).split(".") if part]
    return bool(path) and (_in_values(chart_values(), path) or _in_schema(chart_schema(), path))


@functools.cache
def variables() -> frozenset[str]:
    names = set()
    for role in (ROOT / "roles").iterdir():
        specs = role / "meta" / "argument_specs.yml"
        if specs.is_file():
            for entry in (_yaml(specs).get("argument_specs") or {}).values():
                names |= set((entry or {}).get("options") or {})
        defaults = role / "defaults" / "main.yml"
        if defaults.is_file():
            names |= set(_yaml(defaults) or {})
    for play_file in (ROOT / "playbooks").glob("*.yml"):
        for play in _yaml(play_file) or []:
            names |= set(play.get("vars") or {})
    for group_vars in (ROOT / "inventories").glob("*/group_vars/*/*.yml"):
        names |= set(_yaml(group_vars) or {})
        names |= set(re.findall(r"\bvault_[a-z0-9_]+", group_vars.read_text(encoding="utf-8")))
    return frozenset(names)


def _tags_in(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        tags = node.get("tags")
        if isinstance(tags, str):
            found.add(tags)
        elif isinstance(tags, list):
            found |= {t for t in tags if isinstance(t, str)}
        for value in node.values():
            found |= _tags_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= _tags_in(value)
    return found


@functools.cache
def tags() -> frozenset[str]:
    found = set(ANSIBLE_BUILTIN_TAGS)
    for path in [*(ROOT / "roles").glob("*/tasks/*.yml"), *(ROOT / "playbooks").glob("*.yml")]:
        found |= _tags_in(_yaml(path))
    return frozenset(found)


@functools.cache
def not_values_prefixes() -> frozenset[str]:
    """Namespaces of the collections the project uses (`kubernetes.core` is no values key)."""
    names = {"ansible"} | {c["name"].split(".")[0] for c in _yaml(ROOT / "requirements.yml")["collections"]}
    return frozenset(names)


# ----------------------------------------------------------------------------- reading the guide


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced code block."""
    blocks, lang, body, inside = [], "", [], False
    for line in markdown.splitlines():
        fence = re.match(r"^\s*```(\S*)\s*$", line)
        if fence and not inside:
            inside, lang, body = True, fence.group(1), []
        elif fence and inside and not fence.group(1):
            blocks.append((lang, "\n".join(body)))
            inside = False
        elif inside:
            body.append(line)
    if inside:
        raise ValueError("unterminated code fence")
    return blocks


def inline_spans(markdown: str) -> list[str]:
    prose = re.sub(r"^\s*```.*?^\s*```[ \t]*$", "", markdown, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose)


def shell_commands(text: str) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments dropped, split at
    `&&`, `||`, `;` and `|`, leading VAR=value assignments removed."""
    commands = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        command = []
        for word in [*words, ";"]:
            if word in {"&&", "||", ";", "|"}:
                while command and re.fullmatch(r"[A-Za-z_]\w*=.*", command[0]):
                    command = command[1:]
                if command:
                    commands.append(command)
                command = []
            else:
                command.append(word)
    return commands


@dataclass
class Mentions:
    """Every name the guide uses, by kind, and what is wrong with them."""

    playbooks: set[str] = field(default_factory=set)
    make_targets: set[str] = field(default_factory=set)
    values_keys: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    inventories: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def bad(self, kind: str, message: str) -> None:
        self.problems.setdefault(kind, [])
        if message not in self.problems[kind]:
            self.problems[kind].append(message)

    # -- single names

    def playbook(self, name: str) -> None:
        if name in playbooks():
            self.playbooks.add(name)
        else:
            self.bad("playbooks", f"playbook {name!r} does not exist in playbooks/ ({sorted(playbooks())})")

    def fqcn(self, name: str) -> None:
        if name in playbooks():
            self.playbooks.add(name)
        elif name not in collection_content():
            self.bad("playbooks", f"{COLLECTION}.{name} names no playbook, role, module or filter")

    def target(self, name: str) -> None:
        if name in make_targets():
            self.make_targets.add(name)
        else:
            self.bad("make_targets", f"make target {name!r} does not exist")

    def values_key(self, key: str) -> None:
        if values_key_exists(key):
            self.values_keys.add(key)
        else:
            self.bad("values_keys", f"values key {key!r} is in neither values.yaml nor values.schema.json")

    def values_map(self, node, prefix: str = "") -> None:
        """Every path of a map of chart values, down to the free-form maps."""
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            path = f"{prefix}{key}"
            self.values_key(path)
            if values_key_exists(path) and isinstance(value, dict) and value:
                self.values_map(value, path + ".")

    def variable(self, name: str, value=None, prose: bool = False) -> None:
        known = name in variables()
        if known:
            self.variables.add(name)
        elif not (prose and (name in tags() or name in collection_content())):
            self.bad("variables", f"variable {name!r} is defined by no role, playbook or inventory")
        if known and name in VALUES_VARIABLES and isinstance(value, dict):
            self.values_map(value)

    def tag(self, name: str) -> None:
        if name in tags():
            self.tags.add(name)
        else:
            self.bad("tags", f"tag {name!r} is used by no role or playbook")

    def path(self, path: str) -> None:
        path = path.rstrip(".,;:)")
        if any(c in path for c in "<>*") or path.endswith("..."):
            return
        playbook = re.fullmatch(r"playbooks/([\w-]+)\.yml", path)
        if playbook:
            self.playbook(playbook.group(1))
            return
        inventory = re.match(r"inventories/([\w-]+)", path)
        if inventory:
            if (ROOT / "inventories" / inventory.group(1) / "hosts.yml").is_file():
                self.inventories.add(inventory.group(1))
            else:
                self.bad("inventories", f"inventory inventories/{inventory.group(1)} does not exist")
                return
        target = ROOT / path
        if not target.exists() and not (target.name in OPERATOR_FILES and target.parent.is_dir()):
            self.bad("inventories" if inventory else "paths", f"path {path} does not exist")

    # -- commands and spans

    def extra_vars(self, text: str) -> None:
        if text.startswith("@"):
            self.path(text[1:])
            return
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                self.bad("variables", f"-e {text!r} is not valid JSON: {exc}")
                return
            for key, value in data.items():
                self.variable(key, value)
            return
        for pair in text.split():
            self.variable(pair.partition("=")[0])

    def ansible_playbook(self, args: list[str]) -> None:
        i = 0
        while i < len(args):
            arg = args[i]
            value = args[i + 1] if i + 1 < len(args) else ""
            if arg in {"-i", "--inventory"}:
                self.path(value)
                i += 2
            elif arg in {"-e", "--extra-vars"}:
                self.extra_vars(value)
                i += 2
            elif arg in {"-t", "--tags", "--skip-tags"}:
                for name in value.split(","):
                    self.tag(name)
                i += 2
            elif arg in {"-l", "--limit", "--vault-id", "--vault-password-file", "-u", "--user", "-f", "--forks"}:
                i += 2
            elif arg.startswith("-"):
                i += 1
            else:
                if arg.startswith(COLLECTION + "."):
                    self.playbook(arg[len(COLLECTION) + 1:])
                elif re.fullmatch(r"playbooks/[\w-]+\.yml", arg):
                    self.playbook(arg[len("playbooks/"):-len(".yml")])
                else:
                    self.bad("playbooks", f"ansible-playbook {arg!r}: name a playbook as {COLLECTION}.<name>")
                i += 1

    def helm(self, args: list[str]) -> None:
        for flag, value in zip(args, args[1:], strict=False):
            if flag in {"--set", "--set-string", "--set-json", "--set-file"}:
                for assignment in re.split(r",(?=[\w.\[\]-]+=)", value):
                    self.values_key(assignment.partition("=")[0])
            elif flag in {"-f", "--values"}:
                self.path(value.removeprefix("./"))

    def make(self, args: list[str]) -> None:
        for arg in args:
            if not arg.startswith("-") and "=" not in arg:
                self.target(arg)

    def command(self, argv: list[str]) -> None:
        tool, args = argv[0], argv[1:]
        if tool == "ansible-playbook":
            self.ansible_playbook(args)
        elif tool == "helm":
            self.helm(args)
        elif tool == "make":
            self.make(args)
        for word in args:
            for path in PATH_RE.findall(word):
                if not (tool == "ansible-playbook" and word.startswith("inventories/")):
                    self.path(path)

    def words(self, words: list[str]) -> None:
        """Names in a prose code span: -e pairs, variables, values keys, FQCNs, paths."""
        skip = False
        for i, raw in enumerate(words):
            if skip:
                skip = False
                continue
            if raw in {"-e", "--extra-vars"} and i + 1 < len(words):
                self.extra_vars(words[i + 1])
                skip = True
                continue
            word = raw.strip("(),;").rstrip(".:")
            for name in re.findall(re.escape(COLLECTION) + r"\.(\w+)", word):
                self.fqcn(name)
            for path in PATH_RE.findall(word):
                self.path(path)
            head = re.split(r"[=:]", word, maxsplit=1)[0]
            variable = re.fullmatch(r"(" + VARIABLE_RE.pattern + r")((?:\.[\w-]+)*)", head)
            if variable:
                self.variable(variable.group(1), prose=True)
                if variable.group(2) and variable.group(1) in VALUES_VARIABLES:
                    self.values_key(variable.group(2)[1:])
            elif VALUES_KEY_RE.fullmatch(head) and head.split(".")[-1] not in NOT_VALUES_SUFFIXES \
                    and head.split(".")[0] not in not_values_prefixes():
                self.values_key(head)

    def yaml_block(self, text: str) -> None:
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            return
        for key, value in data.items():
            if VARIABLE_RE.fullmatch(str(key)):
                self.variable(str(key), value)
            elif key not in {"collections", "all"}:
                self.values_map({key: value})


def read_guide(markdown: str) -> Mentions:
    found = Mentions()
    for lang, text in fenced_blocks(markdown):
        if lang in SHELL_LANGS:
            for argv in shell_commands(text):
                found.command(argv)
        elif lang in {"yaml", "yml"}:
            found.yaml_block(text)
    for span in inline_spans(markdown):
        try:
            words = shlex.split(span)
        except ValueError:
            words = span.split()
        if words and words[0] in {"ansible-playbook", "helm", "make"}:
            found.command(words)
        else:
            found.words(words)
    return found


def sections(markdown: str, level: str = "## ") -> dict[str, str]:
    out, current, inside = {}, None, False
    for line in markdown.splitlines():
        if re.match(r"^\s*```", line):
            inside = not inside
        if not inside and line.startswith(level):
            current = line
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


# ----------------------------------------------------------------------------- the real guide


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mentions(guide) -> Mentions:
    return read_guide(guide)


@pytest.mark.parametrize("kind", ["playbooks", "make_targets", "values_keys", "variables", "inventories", "tags",
                                  "paths"])
def test_every_name_exists(mentions, kind):
    assert not mentions.problems.get(kind), "\n".join(mentions.problems[kind])


@pytest.mark.parametrize("kind", sorted(MINIMUM))
def test_the_guide_names_enough_of_each_kind(mentions, kind):
    named = getattr(mentions, kind)
    assert len(named) >= MINIMUM[kind], f"only {sorted(named)}"


def test_every_environment_and_playbook_is_covered(mentions):
    environments = {p.parent.name for p in (ROOT / "inventories").glob("*/hosts.yml")}
    assert mentions.inventories == environments
    assert {"deploy", "rollback", "backup", "restore", "monitoring", "release"} <= mentions.playbooks


@pytest.mark.parametrize("section", sorted(REQUIRED_SECTIONS))
def test_required_section(guide, section):
    headings = [h for h in sections(guide) if re.match(REQUIRED_SECTIONS[section], h)]
    assert headings, f"no heading matching {REQUIRED_SECTIONS[section]!r}"
    assert len(sections(guide)[headings[0]].split()) >= 60, f"{headings[0]} is (almost) empty"


@pytest.mark.parametrize("failure", sorted(TROUBLESHOOTING))
def test_troubleshooting_covers(guide, failure):
    text = next(body for heading, body in sections(guide).items() if heading.startswith("## Troubleshooting"))
    parts = {h: b for h, b in sections(text, "### ").items() if re.search(TROUBLESHOOTING[failure], h, re.I)}
    assert parts, f"no ### heading about {failure} under Troubleshooting"
    body = next(iter(parts.values()))
    assert "```bash" in body, f"{failure}: give the command that shows it"
    assert "**Fix.**" in body, f"{failure}: say how to fix it"


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("text", "source"), QUOTED, ids=[q[0][:40] for q in QUOTED])
def test_quoted_messages_still_match_the_sources(guide, text, source):
    assert _flat(text) in _flat(guide), f"the guide no longer quotes {text!r}"
    assert _flat(text) in _flat((ROOT / source).read_text(encoding="utf-8")), f"{source} no longer says {text!r}"


def test_code_blocks_are_tagged(guide):
    assert all(lang for lang, _text in fenced_blocks(guide)), "tag every code block (bash, yaml, text)"


def test_make_database_is_read():
    targets = make_targets()
    assert {"up", "down", "test", "unit", "lint", "help", "venv", "collection"} <= targets
    assert not {"ROOT", "VENV", "SHELL", "TEST_CHAIN"} & targets, "variables taken for targets"


# ----------------------------------------------------------------------------- a bad guide is caught

BAD_GUIDE = """
## Install

```bash
ansible-playbook -i inventories/qa agent_service.platform.deploy_everything -e release_stratgy=canary \\
  --tags release_nothing
ansible-playbook -i inventories/prod agent_service.platform.deploy -e release_version=1.4.0
helm upgrade --install agent-service helm/agent-service -f helm/agent-service/values-qa.yaml \\
  --set api.replicaCont=3 --set api.replicaCount=3
make deploy-all
make unit
```

Set `api.autoscaling.enabld` (not `api.autoscaling.enabled`), raise `release_lock_tll`, keep
`release_lock_ttl`, run `playbooks/nosuch.yml`, read `agent_service.platform.no_such_module`.

```yaml
release_extra_values:
  worker:
    concurency: 3
    concurrency: 3
```
"""


@pytest.fixture(scope="module")
def bad() -> Mentions:
    return read_guide(BAD_GUIDE)


@pytest.mark.parametrize(("kind", "name"), [
    ("playbooks", "deploy_everything"),
    ("playbooks", "nosuch"),
    ("playbooks", "no_such_module"),
    ("make_targets", "deploy-all"),
    ("values_keys", "api.replicaCont"),
    ("values_keys", "api.autoscaling.enabld"),
    ("values_keys", "worker.concurency"),
    ("variables", "release_stratgy"),
    ("variables", "release_lock_tll"),
    ("tags", "release_nothing"),
    ("inventories", "inventories/qa"),
    ("paths", "values-qa.yaml"),
])
def test_a_bad_name_is_reported_by_name(bad, kind, name):
    assert any(name in problem for problem in bad.problems.get(kind, [])), bad.problems


def test_the_good_names_of_the_bad_guide_pass(bad):
    everything = "\n".join(p for problems in bad.problems.values() for p in problems)
    for good in ("'api.replicaCount'", "'api.autoscaling.enabled'", "'release_lock_ttl'", "'release_version'",
                 "'unit'", "'worker.concurrency'", "playbook 'deploy'"):
        assert good not in everything, everything
    assert {"deploy"} == bad.playbooks and {"unit"} == bad.make_targets and {"prod"} == bad.inventories


def test_a_guide_without_sections_fails():
    assert not any(re.match(REQUIRED_SECTIONS["restore"], h) for h in sections(BAD_GUIDE))
