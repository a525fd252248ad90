-- @description Producer Bridge: REAPER actions for the producer-bridge daemon
-- @version 0.1.0
-- @author producer-bridge
-- @changelog
--   First release: actions, import, monitor, settings, install actions
-- @about
--   # Producer Bridge
--   Actions that send the selected item and time selection to the producer-bridge daemon
--   (`producer-bridge serve`) through its drop folder, an import script that places the
--   results on the timeline, and a monitor window for the daemon's jobs.
--
--   This script sets where requests go (the drop folder), whether results come back as
--   takes or tracks, the model, and whether stems are asked for.
-- @provides
--   [main] ProducerBridge - Replace time selection.lua
--   [main] ProducerBridge - Extend item.lua
--   [main] ProducerBridge - Swap vocals.lua
--   [main] ProducerBridge - Swap instrumental.lua
--   [main] ProducerBridge - Cover.lua
--   [main] ProducerBridge - Variation.lua
--   [main] ProducerBridge - Stems only.lua
--   [main] ProducerBridge - Create in time selection.lua
--   [main] ProducerBridge - Import results.lua
--   [main] ProducerBridge - Monitor.lua
--   [main] ProducerBridge - Install actions.lua
--   [nomain] ProducerBridge/producer_bridge.lua
--   [nomain] ProducerBridge/json.lua
--   [nomain] ProducerBridge/files.lua
--   [nomain] ProducerBridge/context.lua
--   [nomain] ProducerBridge/importer.lua
--   [nomain] ProducerBridge/monitor.lua
--   [nomain] ProducerBridge/install.lua

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_settings()
