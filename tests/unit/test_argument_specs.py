"""Every role's meta/argument_specs.yml matches its defaults/main.yml exactly.

For each role: the `main` entry point declares every key of defaults/main.yml and
nothing else, with the same default and a matching type; every other entry point
only declares keys that exist in defaults; every option has a description.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))
TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}


def _load(role):
    defaults_file = role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return defaults or {}, specs


def test_there_are_roles_to_check():
    assert ROLES, "no roles with meta/argument_specs.yml found"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_main_entry_point_equals_defaults(role):
    defaults, specs = _load(role)
    options = specs["main"].get("options") or {}
    assert sorted(set(defaults) - set(options)) == [], "in defaults but not in argument_specs"
    assert sorted(set(options) - set(defaults)) == [], "in argument_specs but not in defaults"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_types_and_defaults_match(role):
    defaults, specs = _load(role)
    options = specs["main"].get("options") or {}
    wrong = []
    for key, value in defaults.items():
        spec = options.get(key, {})
        declared = spec.get("type", "str")
        actual = TYPES.get(type(value), "raw")
        if declared not in (actual, "raw") and not (declared in ("path", "str") and actual == "str") \
                and not (declared == "float" and actual == "int"):
            wrong.append(f"{key}: declared {declared}, default is {actual}")
        if "default" in spec and spec["default"] != value:
            wrong.append(f"{key}: spec default {spec['default']!r} != defaults {value!r}")
        if not spec.get("description"):
            wrong.append(f"{key}: no description")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_other_entry_points_use_known_options(role):
    defaults, specs = _load(role)
    for entry, spec in specs.items():
        unknown = set(spec.get("options") or {}) - set(defaults)
        private = [k for k in (spec.get("options") or {}) if k.startswith("_")]
        assert not unknown, f"{entry}: options without a default: {sorted(unknown)}"
        assert not private, f"{entry}: internal variables in the spec: {private}"
        tasks = role / "tasks" / f"{entry}.yml"
        assert tasks.exists(), f"entry point {entry} has no tasks/{entry}.yml"
