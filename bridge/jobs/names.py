"""The names of what a job can do and fetch, spelt out once, with nothing else imported, so
that the command line can list them without loading the models."""

from __future__ import annotations

from typing import Final, Literal, get_args

# The service's actions: the type is what request schemas are built from.
ActionName = Literal[
    "create_music",
    "extend_music",
    "replace_music",
    "cover_music",
    "swap_music_sound",
    "swap_music_vocals",
    "music_variation",
]
ACTIONS: Final[tuple[str, ...]] = get_args(ActionName)
CREATE: Final = "create_music"
# Not an API action: the clip itself is split into stems, nothing is generated.
STEMS_ONLY: Final = "stems_only"
JobAction = Literal[ActionName, "stems_only"]
JOB_ACTIONS: Final[tuple[str, ...]] = get_args(JobAction)
FetchFormat = Literal["wav", "mp3"]
FETCH_FORMATS: Final[tuple[str, ...]] = get_args(FetchFormat)
