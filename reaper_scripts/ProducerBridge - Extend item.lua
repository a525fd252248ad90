-- @description Producer Bridge: Extend item
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   Continues the selected audio item for the number of seconds you give (extend_music):
--   from the time selection's start if there is one on the item, else from the item's end.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("extend_music")
