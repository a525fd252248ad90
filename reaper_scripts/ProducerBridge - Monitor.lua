-- @description Producer Bridge: Monitor
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   A window that lists the producer-bridge daemon's jobs (action, status, step, progress,
--   errors), read from the status.json the daemon keeps in its drop folder. Close it or
--   press Esc to stop.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_monitor()
