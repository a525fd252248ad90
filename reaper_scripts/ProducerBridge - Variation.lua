-- @description Producer Bridge: Variation
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   A variation of the selected audio item (music_variation); the prompt may stay empty.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("music_variation")
