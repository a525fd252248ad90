"""producer-bridge: connects a DAW to the Producer music-generation API."""

__version__ = "0.1.0"
