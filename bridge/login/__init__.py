"""Starting the daemon at login: a systemd user unit, a LaunchAgent or a Startup-folder
file, rendered from absolute paths (`entries`) and installed for a given home (`install`)."""

from __future__ import annotations

from bridge.login.entries import Launch
from bridge.login.install import Machine, Ran, Runner, install, status, uninstall

__all__ = ["Launch", "Machine", "Ran", "Runner", "install", "status", "uninstall"]
