-- @description Producer Bridge: Install actions
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   For an install made without ReaPack (`producer-bridge install reaper`): run it once
--   (Actions → Show action list → New action → Load ReaScript…, then Run) and every Producer
--   Bridge script in its folder is added to the Action list. Its message gives the import
--   script's command id for the daemon's `reaper.import_action`.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_install_actions(here)
