"""The emulator is an independent twin of the service: no module of it imports the client's
vocabulary (bridge.api), the job core (bridge.jobs) or the pipeline (bridge.pipeline), so its
contract cannot silently be the client's own validator (PRODUCER_API.md, "What this means
for the bridge": "Every contract the bridge speaks has an independent twin in the
emulator ... not from the client's code")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EMULATOR = ROOT / "bridge" / "emulator"
FORBIDDEN = ("bridge.api", "bridge.jobs", "bridge.pipeline")


def imported_modules(source: str, package: str) -> list[str]:
    """Every module `source` imports, absolute: `from bridge import api` counts as
    bridge.api, and relative imports are resolved against `package`, the file's own."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]
    return found


def imports_of(path: Path) -> list[str]:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    return imported_modules(path.read_text(encoding="utf-8"), package)


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def emulator_modules() -> list[Path]:
    return sorted(EMULATOR.rglob("*.py"))


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import bridge.api.models", "bridge.api.models"),
        ("from bridge.jobs.model import JobRequest", "bridge.jobs.model"),
        ("from bridge import pipeline", "bridge.pipeline"),
        ("from ..api import models", "bridge.api"),
        ("from .. import jobs", "bridge.jobs"),
        ("def f() -> None:\n    import bridge.pipeline.run", "bridge.pipeline.run"),
    ],
)
def test_the_scan_sees_every_form_of_import(source: str, module: str) -> None:
    found = imported_modules(source, "bridge.emulator")
    assert module in found
    assert any(forbidden(name) for name in found)


def test_the_scan_lets_the_emulator_import_its_own_and_the_allowed_modules() -> None:
    source = "from . import dsp\nfrom bridge.config import EmulatorSettings\nimport bridge.apis"
    found = imported_modules(source, "bridge.emulator")
    assert "bridge.emulator.dsp" in found
    assert not any(forbidden(name) for name in found)


@pytest.mark.parametrize("path", emulator_modules(), ids=lambda p: p.name)
def test_no_emulator_module_imports_the_client_the_jobs_or_the_pipeline(path: Path) -> None:
    offending = [name for name in imports_of(path) if forbidden(name)]
    assert offending == [], f"{path.relative_to(ROOT)} imports {offending}"


def test_the_emulator_keeps_importing_only_what_it_may() -> None:
    """bridge.config (its settings), bridge.errors and bridge.serving are allowed; the
    scan must see them, or it is looking at nothing."""
    seen = {name for path in emulator_modules() for name in imports_of(path)}
    assert {"bridge.config", "bridge.errors", "bridge.serving"} <= seen
