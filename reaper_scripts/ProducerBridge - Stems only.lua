-- @description Producer Bridge: Stems only
-- @version 0.1.0
-- @author producer-bridge
-- @noindex
-- @about
--   Splits the selected audio item into its stems (stems_only): vocals, drums, bass and
--   other through mountsea, vocals and instrumental through acedata. Nothing is generated,
--   and no dialog asks anything.
--   Writes a request for the producer-bridge daemon into its drop folder's requests/;
--   run "ProducerBridge - Import results" (or let the daemon trigger it) to place the stems.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local bridge = dofile(here .. "ProducerBridge/producer_bridge.lua")
bridge.run_action("stems_only")
