"""Local audio files: reading their shape, preparing clips for upload."""

from bridge.audio.clips import (
    UPLOAD_EXTENSIONS,
    AudioInfo,
    cut_clip,
    prepare_upload,
    probe,
)

__all__ = ["UPLOAD_EXTENSIONS", "AudioInfo", "cut_clip", "prepare_upload", "probe"]
