-- @description Producer Bridge: Swap instrumental
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   A new instrumental under the selected audio item's vocals (swap_music_sound).
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("swap_music_sound")
