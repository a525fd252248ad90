"""Putting a DAW's own scripts where the DAW finds them, and publishing them.

`reaper` copies the REAPER scripts into REAPER's Scripts folder; `reapack` writes the
ReaPack index that lets REAPER users install them from a published copy of this repository.
"""
