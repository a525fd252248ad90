-- A fake `reaper` (and, from fake_gfx.lua, `gfx`) for running the Producer Bridge scripts
-- under plain Lua.
--
-- It implements exactly the ReaScript functions the scripts call, with the signatures of
-- the ReaScript documentation (see reascript_api_names.txt), over a project described by a
-- scenario: tracks, items, takes, sources, the time selection, sample rates, ExtState,
-- scripted answers to GetUserInputs. Every call is recorded. Using any other reaper.X or
-- gfx.X raises an error, so a script that strays from the list fails its test.

local HERE = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local media = dofile(HERE .. "fake_media.lua")
local fake = {}

-- The documented number of arguments: REAPER's Lua functions take no buffer arguments.
function fake.arity(fn, count, ...)
  local given = select("#", ...)
  if given ~= count then
    error(string.format("fake REAPER: %s takes %d argument(s), got %d", fn, count, given), 3)
  end
end

-- GetUserInputs: "Maximum fields is 16"; the answer comes back through a buffer of this
-- size in Lua (longer answers are cut), and every field is a single-line edit box.
fake.MAX_INPUT_FIELDS = 16
fake.INPUTS_BUFFER = 1024

local function strict(name, t)
  return setmetatable(t, {
    __index = function(_, key)
      error(string.format("fake REAPER: %s.%s is not implemented", name, tostring(key)), 2)
    end,
  })
end

local function check(value, kind, fn, position)
  if type(value) ~= "table" or value.kind ~= kind then
    error(string.format("fake REAPER: %s argument %d must be a %s (got %s)", fn, position, kind,
      type(value) == "table" and tostring(value.kind) or type(value)), 3)
  end
end

local function check_type(value, lua_type, fn, position)
  if type(value) == lua_type then return end
  error(string.format("fake REAPER: %s argument %d must be a %s (got %s)", fn, position,
    lua_type, type(value)), 3)
end

local function check_project(value, fn)
  if value ~= 0 and not (type(value) == "table" and value.kind == "ReaProject") then
    error("fake REAPER: " .. fn .. " argument 1 must be 0 or a ReaProject", 3)
  end
end

-- `scenario` is the decoded scenario; `null` the JSON null sentinel (read as nil).
function fake.new(scenario, null)
  local function get(t, key)
    local value = t and t[key]
    if value == null then return nil end
    return value
  end
  local state = {
    calls = {}, messages = {}, help = {}, dialogs = {}, undo = {}, drawn = {},
    deferred = {}, arrange_updates = 0, persist = {}, created_dirs = {},
    extstate = get(scenario, "extstate") or {}, projextstate = get(scenario, "projextstate") or {},
    frame = 0, next_id = 0,
  }
  local function new(kind, fields)
    state.next_id = state.next_id + 1
    fields.kind, fields.id = kind, state.next_id
    return fields
  end
  local r = {}
  local function record(name, fn)
    r[name] = function(...)
      state.calls[#state.calls + 1] = { name = name, args = table.pack(...) }
      return fn(...)
    end
  end
  fake.record, fake.new, fake.get, fake.check, fake.check_type = record, new, get, check,
    check_type
  media.install(fake)
  dofile(HERE .. "fake_folders.lua")(fake, state)
  local project = new("ReaProject", { file = get(scenario, "project_file") or "" })
  local tracks = {}
  for _, track_spec in ipairs(get(scenario, "tracks") or {}) do
    local track = new("MediaTrack", { name = get(track_spec, "name") or "",
      depth = get(track_spec, "depth") or 0, items = {} })
    for _, item_spec in ipairs(get(track_spec, "items") or {}) do
      local item = new("MediaItem", {
        track = track, takes = {}, position = item_spec.position, length = item_spec.length,
        selected = get(item_spec, "selected") == true, active = get(item_spec, "active") or 1,
        notes = get(item_spec, "notes") or "",
      })
      for _, take_spec in ipairs(get(item_spec, "takes") or {}) do
        item.takes[#item.takes + 1] = media.take_from(item, take_spec)
      end
      track.items[#track.items + 1] = item
    end
    tracks[#tracks + 1] = track
  end
  state.tracks = tracks
  local inputs = get(scenario, "inputs") or {}

  local function all_items()
    local list = {}
    for _, track in ipairs(tracks) do
      for _, item in ipairs(track.items) do list[#list + 1] = item end
    end
    return list
  end


  -- Project and context ------------------------------------------------------------
  record("GetOS", function() return get(scenario, "os") or "Other" end)
  record("EnumProjects", function(idx)
    if idx ~= -1 then error("fake REAPER: EnumProjects is only faked for idx -1", 2) end
    return project, project.file
  end)
  record("GetSetProjectInfo", function(proj, desc, value, is_set)
    check_project(proj, "GetSetProjectInfo")
    check_type(value, "number", "GetSetProjectInfo", 3)
    if is_set ~= false then error("fake REAPER: GetSetProjectInfo is only faked for reading", 2) end
    if desc == "PROJECT_SRATE" then return get(scenario, "project_srate") or 0 end
    if desc == "PROJECT_SRATE_USE" then return get(scenario, "project_srate_use") or 0 end
    error("fake REAPER: GetSetProjectInfo " .. tostring(desc) .. " is not faked", 2)
  end)
  record("GetAudioDeviceInfo", function(...)
    fake.arity("GetAudioDeviceInfo", 1, ...)
    local attribute = ...
    check_type(attribute, "string", "GetAudioDeviceInfo", 1)
    local rate = get(scenario, "device_srate")
    if attribute ~= "SRATE" or rate == nil then return false, "" end
    return true, tostring(rate)
  end)
  record("GetSet_LoopTimeRange", function(is_set, is_loop, start, stop, autoseek)
    check_type(is_set, "boolean", "GetSet_LoopTimeRange", 1)
    check_type(autoseek, "boolean", "GetSet_LoopTimeRange", 5)
    if is_set then error("fake REAPER: setting the time selection is not faked", 2) end
    local selection = get(scenario, "selection")
    if not selection then return 0.0, 0.0 end
    return selection.start, selection["end"]
  end)
  record("GetSelectedMediaItem", function(proj, index)
    check_project(proj, "GetSelectedMediaItem")
    local n = -1
    for _, item in ipairs(all_items()) do
      if item.selected then
        n = n + 1
        if n == index then return item end
      end
    end
    return nil
  end)
  record("GetActiveTake", function(item)
    check(item, "MediaItem", "GetActiveTake", 1)
    return item.takes[item.active]
  end)
  record("TakeIsMIDI", function(take)
    check(take, "MediaItem_Take", "TakeIsMIDI", 1)
    return take.midi
  end)
  record("GetTakeNumStretchMarkers", function(take)
    check(take, "MediaItem_Take", "GetTakeNumStretchMarkers", 1)
    return take.stretch
  end)
  local ITEM_VALUES = { D_POSITION = "position", D_LENGTH = "length" }
  record("GetMediaItemInfo_Value", function(item, parm)
    check(item, "MediaItem", "GetMediaItemInfo_Value", 1)
    if not ITEM_VALUES[parm] then error("fake REAPER: item value " .. tostring(parm), 2) end
    return item[ITEM_VALUES[parm]] + 0.0
  end)
  record("SetMediaItemInfo_Value", function(item, parm, value)
    check(item, "MediaItem", "SetMediaItemInfo_Value", 1)
    check_type(value, "number", "SetMediaItemInfo_Value", 3)
    if not ITEM_VALUES[parm] then error("fake REAPER: item value " .. tostring(parm), 2) end
    item[ITEM_VALUES[parm]] = value
    return true
  end)
  record("GetSetMediaItemInfo_String", function(item, parm, value, set)
    check(item, "MediaItem", "GetSetMediaItemInfo_String", 1)
    check_type(set, "boolean", "GetSetMediaItemInfo_String", 4)
    if parm ~= "P_NOTES" then error("fake REAPER: item string " .. tostring(parm), 2) end
    if set then item.notes = value end
    return true, item.notes
  end)
  record("GetMediaItemTake_Source", function(take)
    check(take, "MediaItem_Take", "GetMediaItemTake_Source", 1)
    return take.source
  end)
  record("GetMediaSourceParent", function(source)
    check(source, "PCM_source", "GetMediaSourceParent", 1)
    return source.parent
  end)
  record("PCM_Source_GetSectionInfo", function(source)
    check(source, "PCM_source", "PCM_Source_GetSectionInfo", 1)
    local section = source.section
    if not section then return false, 0.0, 0.0, false end
    return true, section.offs + 0.0, section.len + 0.0, section.rev == true
  end)

  -- State, dialogs and feedback ---------------------------------------------------------
  record("GetExtState", function(section, key)
    return (state.extstate[section] or {})[key] or ""
  end)
  record("SetExtState", function(section, key, value, persist)
    check_type(value, "string", "SetExtState", 3)
    check_type(persist, "boolean", "SetExtState", 4)
    state.extstate[section] = state.extstate[section] or {}
    state.extstate[section][key] = value
    state.persist[section .. "/" .. key] = persist
  end)
  record("GetProjExtState", function(proj, extname, key)
    check_project(proj, "GetProjExtState")
    local value = (state.projextstate[extname] or {})[key] or ""
    return #value > 0 and 1 or 0, value
  end)
  record("SetProjExtState", function(proj, extname, key, value)
    check_project(proj, "SetProjExtState")
    check_type(value, "string", "SetProjExtState", 4)
    state.projextstate[extname] = state.projextstate[extname] or {}
    state.projextstate[extname][key] = value ~= "" and value or nil
    return 1
  end)
  record("ShowMessageBox", function(msg, title, kind)
    check_type(msg, "string", "ShowMessageBox", 1)
    state.messages[#state.messages + 1] = { text = msg, title = title, type = kind }
    return 1
  end)
  record("Help_Set", function(text, temporary)
    check_type(text, "string", "Help_Set", 1)
    check_type(temporary, "boolean", "Help_Set", 2)
    state.help[#state.help + 1] = text
  end)
  record("GetUserInputs", function(title, count, captions_csv, defaults_csv)
    check_type(count, "number", "GetUserInputs", 2)
    local captions, separator, extrawidth = {}, ",", nil
    for caption in (captions_csv .. ","):gmatch("(.-),") do
      local sep = caption:match("^separator=(.)$")
      local width = caption:match("^extrawidth=(%d+)$")
      if sep then separator = sep elseif width then extrawidth = tonumber(width)
      else captions[#captions + 1] = caption end
    end
    if #captions ~= count then
      error(string.format("fake REAPER: GetUserInputs has %d captions for %d fields", #captions,
        count), 2)
    end
    if count > fake.MAX_INPUT_FIELDS then
      error(string.format("fake REAPER: GetUserInputs has %d fields; the maximum is %d", count,
        fake.MAX_INPUT_FIELDS), 2)
    end
    local defaults = {}
    for value in (defaults_csv .. separator):gmatch("(.-)" .. separator:gsub("%p", "%%%0")) do
      defaults[#defaults + 1] = value
    end
    if #defaults > count then error("fake REAPER: GetUserInputs: more defaults than fields", 2) end
    state.dialogs[#state.dialogs + 1] = { title = title, captions = captions,
      defaults = defaults, separator = separator, extrawidth = extrawidth }
    local answer = table.remove(inputs, 1)
    if answer == nil then error("fake REAPER: the scenario has no answer for " .. title, 2) end
    if answer == null or answer == false then return false, defaults_csv end
    if #answer ~= count then error("fake REAPER: scripted answer has the wrong field count", 2) end
    for _, value in ipairs(answer) do
      if value:find(separator, 1, true) then error("fake REAPER: answer holds the separator", 2) end
      if value:find("[\r\n]") then
        error("fake REAPER: a GetUserInputs field is one line; the answer holds a line break", 2)
      end
    end
    return true, table.concat(answer, separator):sub(1, fake.INPUTS_BUFFER - 1)
  end)
  record("time_precise", function() return os.clock() end)

  -- Tracks, items and takes (the importer) ----------------------------------------------
  record("CountTracks", function(proj) check_project(proj, "CountTracks") return #tracks end)
  record("GetTrack", function(proj, index)
    check_project(proj, "GetTrack")
    return tracks[index + 1]
  end)
  record("InsertTrackAtIndex", function(index, defaults)
    check_type(defaults, "boolean", "InsertTrackAtIndex", 2)
    -- A new track changes no other track's depth: which folder it is in follows from the
    -- depths of the tracks above it (I_FOLDERDEPTH).
    index = math.max(0, math.min(index, #tracks))
    table.insert(tracks, index + 1, new("MediaTrack", { name = "", depth = 0, items = {} }))
  end)
  record("GetMediaTrackInfo_Value", function(track, parm)
    check(track, "MediaTrack", "GetMediaTrackInfo_Value", 1)
    if parm == "I_FOLDERDEPTH" then return track.depth + 0.0 end
    if parm ~= "IP_TRACKNUMBER" then error("fake REAPER: track value " .. tostring(parm), 2) end
    for i, t in ipairs(tracks) do if t == track then return i + 0.0 end end
    return 0.0
  end)
  record("SetMediaTrackInfo_Value", function(track, parm, value)
    check(track, "MediaTrack", "SetMediaTrackInfo_Value", 1)
    if parm ~= "I_FOLDERDEPTH" then error("fake REAPER: track value " .. tostring(parm), 2) end
    check_type(math.tointeger(value), "number", "SetMediaTrackInfo_Value", 3)
    track.depth = value
    return true
  end)
  record("GetSetMediaTrackInfo_String", function(track, parm, value, set)
    check(track, "MediaTrack", "GetSetMediaTrackInfo_String", 1)
    if parm ~= "P_NAME" then error("fake REAPER: track string " .. tostring(parm), 2) end
    if set then track.name = value end
    return true, track.name
  end)
  record("CountMediaItems", function(proj)
    check_project(proj, "CountMediaItems")
    return #all_items()
  end)
  record("GetMediaItem", function(proj, index)
    check_project(proj, "GetMediaItem")
    return all_items()[index + 1]
  end)
  record("GetMediaItem_Track", function(item)
    check(item, "MediaItem", "GetMediaItem_Track", 1)
    return item.track
  end)
  record("AddMediaItemToTrack", function(track)
    check(track, "MediaTrack", "AddMediaItemToTrack", 1)
    local item = new("MediaItem", { track = track, takes = {}, position = 0, length = 0,
      active = 1 })
    track.items[#track.items + 1] = item
    return item
  end)
  record("CountTakes", function(item)
    check(item, "MediaItem", "CountTakes", 1)
    return #item.takes
  end)
  record("GetTake", function(item, index)
    check(item, "MediaItem", "GetTake", 1)
    return item.takes[index + 1]
  end)
  record("AddTakeToMediaItem", function(item)
    check(item, "MediaItem", "AddTakeToMediaItem", 1)
    local take = media.take_from(item, {})
    item.takes[#item.takes + 1] = take
    return take
  end)
  record("SetActiveTake", function(take)
    check(take, "MediaItem_Take", "SetActiveTake", 1)
    for i, t in ipairs(take.item.takes) do if t == take then take.item.active = i end end
  end)
  record("GetSetMediaItemTakeInfo_String", function(take, parm, value, set)
    check(take, "MediaItem_Take", "GetSetMediaItemTakeInfo_String", 1)
    if parm ~= "P_NAME" then error("fake REAPER: take string " .. tostring(parm), 2) end
    if set then take.name = value end
    return true, take.name
  end)
  record("SetMediaItemTake_Source", function(take, source)
    check(take, "MediaItem_Take", "SetMediaItemTake_Source", 1)
    check(source, "PCM_source", "SetMediaItemTake_Source", 2)
    take.source = source
    return true
  end)
  record("Undo_BeginBlock", function() state.undo[#state.undo + 1] = "begin" end)
  record("Undo_EndBlock", function(desc, flags)
    check_type(desc, "string", "Undo_EndBlock", 1)
    check_type(flags, "number", "Undo_EndBlock", 2)
    state.undo[#state.undo + 1] = "end: " .. desc
  end)
  record("UpdateArrange", function() state.arrange_updates = state.arrange_updates + 1 end)

  -- The monitor's window ---------------------------------------------------------------
  record("defer", function(fn)
    check_type(fn, "function", "defer", 1)
    state.deferred[#state.deferred + 1] = fn
    return true
  end)
  local g = dofile(HERE .. "fake_gfx.lua")(state, get(scenario, "gfx_chars") or {}, check_type)

  return strict("reaper", r), strict("gfx", g), state
end

return fake
