"""The project writer: results written into a DAW project folder, safely and once.

- ``paths``: where writing is allowed (allowed roots, safe names, no symlink escapes)
- ``wavout``: audio written as WAV at the project's sample rate, atomically
- ``manifest``: the per-job JSON manifest and its JSON Schema
- ``index``: the finished-jobs index (JSON Lines), appended under a lock
"""

from bridge.project.index import INDEX_NAME, append_index, index_entry, read_index
from bridge.project.manifest import (
    KINDS,
    MANIFEST_NAME,
    MANIFEST_SCHEMA_VERSION,
    FileEntry,
    Manifest,
    schema,
    write_manifest,
)
from bridge.project.paths import child, resolve_project, safe_component, slug
from bridge.project.wavout import (
    SUBTYPES,
    WavShape,
    read_shape,
    write_project_wav,
)

__all__ = [
    "INDEX_NAME",
    "KINDS",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "SUBTYPES",
    "FileEntry",
    "Manifest",
    "WavShape",
    "append_index",
    "child",
    "index_entry",
    "read_index",
    "read_shape",
    "resolve_project",
    "safe_component",
    "schema",
    "slug",
    "write_manifest",
    "write_project_wav",
]
