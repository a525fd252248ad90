"""The published JSON Schemas, each generated from the pydantic model that reads or writes
its document; a test keeps the shipped files equal to `generated()`.

Regenerate after changing a model: ``python -m bridge.schemas``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bridge.jobs.wire import JSON_SCHEMA_DIALECT


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema, as the shipped files hold it."""
    return {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}


def generated() -> dict[str, dict[str, Any]]:
    """Every shipped schema by file name, from the models."""
    # Imported here: the documents' modules read their shipped schema from this package.
    from bridge.daemon.board import StatusDocument
    from bridge.daemon.context import ContextDocument
    from bridge.daemon.live_script import LiveRecordDocument
    from bridge.jobs.wire import WireRequest
    from bridge.project.index import IndexLine
    from bridge.project.manifest import ManifestDocument

    return {
        "request.schema.json": schema_of(WireRequest),
        "manifest.schema.json": schema_of(ManifestDocument),
        "status.schema.json": schema_of(StatusDocument),
        "index-line.schema.json": schema_of(IndexLine),
        "live.schema.json": schema_of(LiveRecordDocument),
        "context.schema.json": schema_of(ContextDocument),
    }


def write(folder: Path = Path(__file__).parent) -> None:
    """Write every generated schema into `folder` (by default, where they are shipped)."""
    for name, schema in generated().items():
        text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        (folder / name).write_text(text, encoding="utf-8")
