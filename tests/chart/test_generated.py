"""The chart's generated files (helm/agent-service/hack/generate.py, `make generate`): the committed
copies are current, a stale one fails the check by name, and a value added to values.yaml alone
reaches values.schema.json and the README. The packaged chart holds the generated files, not the
generators."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import CHART, helm_bin, helm_template

GENERATE = CHART / "hack" / "generate.py"
GENERATED = ("values.schema.json", "README.md")


def generate(*args: str, chart: Path = CHART) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATE), "--chart", str(chart), *args],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def chart_copy(tmp_path):
    dst = tmp_path / "agent-service"
    shutil.copytree(CHART, dst, ignore=shutil.ignore_patterns("tests", "hack"))
    return dst


@pytest.mark.parametrize("name", GENERATED)
def test_generated_file_is_current(name):
    proc = generate("--check", name)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", GENERATED)
def test_stale_file_is_named(chart_copy, name):
    stale = chart_copy / name
    stale.write_text(stale.read_text().replace("\n", "\n\n", 1))
    proc = generate("--check", chart=chart_copy)
    assert proc.returncode == 1, proc.stderr
    assert f"generate-check: {stale} is stale: run `make generate`" in proc.stderr, proc.stderr
    others = [n for n in GENERATED if n != name]
    assert not any(f"{chart_copy / n} is stale" in proc.stderr for n in others), proc.stderr
    assert stale.read_text() != (CHART / name).read_text(), "--check must not write"


def test_value_added_to_values_yaml_reaches_schema_and_readme(chart_copy):
    values = chart_copy / "values.yaml"
    text = values.read_text()
    assert "\napi:\n" in text
    text = text.replace("\napi:\n", "\napi:\n  # -- a flag added by the test\n  scratchFlag: true\n", 1)
    values.write_text(text + "\n# -- a value added by the test\nscratchLimit: 7\n")

    proc = generate(chart=chart_copy)
    assert proc.returncode == 0, proc.stderr
    assert generate("--check", chart=chart_copy).returncode == 0

    schema = json.loads((chart_copy / "values.schema.json").read_text())
    assert schema["properties"]["scratchLimit"] == {"type": "integer"}
    assert schema["properties"]["api"]["properties"]["scratchFlag"] == {"type": "boolean"}
    assert schema["additionalProperties"] is False and schema["properties"]["api"]["additionalProperties"] is False
    readme = (chart_copy / "README.md").read_text()
    assert "| `scratchLimit` | `7` | a value added by the test |" in readme
    assert "| `api.scratchFlag` | `true` | a flag added by the test |" in readme

    # after `make generate` the schema types the new value and still refuses unknown ones
    dev = ("-f", str(chart_copy / "values-dev.yaml"))
    ok = helm_template(*dev, "--set", "scratchLimit=9", chart=chart_copy, check=False)
    assert ok.returncode == 0, ok.stderr
    wrong = helm_template(*dev, "--set-string", "scratchLimit=nine", chart=chart_copy, check=False)
    assert wrong.returncode != 0 and "/scratchLimit" in wrong.stderr, wrong.stderr
    unknown = helm_template(*dev, "--set", "scratchOther=1", chart=chart_copy, check=False)
    assert "additional properties 'scratchOther' not allowed" in unknown.stderr, unknown.stderr


def test_packaged_chart_has_generated_files_not_generators(tmp_path):
    proc = subprocess.run([helm_bin(), "package", str(CHART), "--destination", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (package,) = tmp_path.glob("agent-service-*.tgz")
    with tarfile.open(package) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames()}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md"} <= names
    assert not [n for n in names if n.startswith(("hack/", "tests/")) or n == "README.md.gotmpl"], sorted(names)
