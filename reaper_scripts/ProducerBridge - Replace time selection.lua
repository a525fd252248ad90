-- @description Producer Bridge: Replace time selection
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   Regenerates the part of the selected audio item under the time selection (replace_music).
--   The result comes back as a new take (or track) covering the whole item.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the result.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("replace_music")
