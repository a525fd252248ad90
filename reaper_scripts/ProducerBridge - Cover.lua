-- @description Producer Bridge: Cover
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   The selected audio item in another style (cover_music), as far from the original as
--   the cover strength you give.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("cover_music")
