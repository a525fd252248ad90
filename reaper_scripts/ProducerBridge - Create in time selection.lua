-- @description Producer Bridge: Create in time selection
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   New music for the time selection (create_music), from a prompt and optional lyrics.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("create_music")
