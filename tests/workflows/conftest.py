"""Fixtures of the workflow tests: the workflow documents, the collection on a collections path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict]:
    """Every workflow, parsed; YAML 1.1 reads the bare key `on` as True, GitHub as "on"."""
    docs = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        if True in doc:
            doc["on"] = doc.pop(True)
        docs[path.stem] = doc
    return docs

@pytest.fixture(scope="session")
def collections_path(tmp_path_factory) -> Path:
    """An ANSIBLE_COLLECTIONS_PATH where agent_service.platform is this checkout."""
    path = tmp_path_factory.mktemp("collections")
    link = path / "ansible_collections" / "agent_service" / "platform"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    return path

