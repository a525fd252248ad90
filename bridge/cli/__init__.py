"""The `producer-bridge` command line."""
