"""Import layering of the app package: ``app.core`` (settings, database, Redis, logging,
tracing) sits below everything else and imports nothing of the app outside itself.

Every import statement counts, also those inside functions and ``if TYPE_CHECKING:``
blocks: the source is read with ``ast``, nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_services

PACKAGE = Path(__file__).resolve().parents[1] / "app"


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file at ``path`` (below ``root``)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from app import worker` imports the module app.worker
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def outside(module: str, allowed: str) -> bool:
    top = module.split(".")
    return top[0] == "app" and len(top) > 1 and module != allowed and not module.startswith(f"{allowed}.")


def test_core_imports_nothing_of_the_app_outside_core() -> None:
    files = sorted((PACKAGE / "core").rglob("*.py"))
    assert files, PACKAGE
    offending = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
                 for path in files for line, module in imported_modules(path) if outside(module, "app.core")]
    assert not offending, "app.core must not import the layers above it:\n" + "\n".join(offending)


@pytest.mark.parametrize(("source", "flagged"), [
    ("from app.worker import state", ["app.worker.state"]),
    ("import app.worker.state", ["app.worker.state"]),
    ("from app import worker", ["app.worker"]),
    ("from .. import worker", ["app.worker"]),
    ("from ..api.deps import SettingsDep", ["app.api.deps.SettingsDep"]),
    ("if TYPE_CHECKING:\n    from app.agents import tools", ["app.agents.tools"]),
    ("def f():\n    from app.worker.celery_app import celery_app", ["app.worker.celery_app.celery_app"]),
    ("from app.core.config import Settings\nfrom . import db\nimport pydantic", []),
])
def test_the_check_sees_every_form_of_import(tmp_path: Path, source: str, flagged: list[str]) -> None:
    module = tmp_path / "app" / "core" / "example.py"
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n")
    assert [m for _, m in imported_modules(module, tmp_path) if outside(m, "app.core")] == flagged
