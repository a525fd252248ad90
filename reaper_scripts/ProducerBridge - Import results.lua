-- @description Producer Bridge: Import results
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   Places the results of finished producer-bridge jobs on the timeline, each at the
--   position its manifest gives: new takes on the source item, or new tracks, with stems on
--   a folder track. Jobs already imported into this project are skipped. The daemon can run
--   this script by itself when a job completes (reaper.osc and reaper.import_action).

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_import()
