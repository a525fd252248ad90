-- @noindex
-- Producer Bridge for REAPER: the library every action script loads with dofile.
--
-- An action reads the project, the time selection and the selected item, asks for a prompt,
-- and writes one request file (the daemon's request schema, version 1) into the drop
-- folder's requests/. The daemon `producer-bridge serve` takes it from there; the import
-- script puts the results on the timeline.

local HERE = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local json = dofile(HERE .. "json.lua")
local files = dofile(HERE .. "files.lua")
local context = dofile(HERE .. "context.lua")

local lib = { json = json, files = files, context = context, here = HERE }

local SECTION = "ProducerBridge"
local TITLE = "Producer Bridge"
lib.SECTION, lib.TITLE = SECTION, TITLE

local DEFAULTS = {
  drop_folder = "", import_as = "takes", model = "", stems = "0",
  results_folder = "ProducerBridge", confirm = "0", import_spliced = "1",
}
lib.IMPORT_TARGETS = { takes = true, tracks = true, none = true }

------------------------------------------------------------------------------ settings

-- A setting from the ExtState section "ProducerBridge", or its default.
function lib.setting(key)
  local value = reaper.GetExtState(SECTION, key)
  if value == nil or value == "" then return DEFAULTS[key] or "" end
  return value
end

-- Settings persist across REAPER sessions.
function lib.set_setting(key, value)
  reaper.SetExtState(SECTION, key, tostring(value), true)
end

local function home()
  return os.getenv("HOME") or os.getenv("USERPROFILE") or ""
end

-- Where `producer-bridge serve` looks by default (platformdirs' user data folder).
function lib.default_drop_folder()
  local os_name = reaper.GetOS()
  if os_name:match("^Win") then
    local base = os.getenv("LOCALAPPDATA") or files.join(home(), "AppData", "Local")
    return files.join(base, "producer-bridge", "producer-bridge", "drop")
  elseif os_name:match("^OSX") or os_name:match("^macOS") then
    return files.join(home(), "Library", "Application Support", "producer-bridge", "drop")
  end
  local data = os.getenv("XDG_DATA_HOME")
  if not data or not files.is_absolute(data) then data = files.join(home(), ".local", "share") end
  return files.join(data, "producer-bridge", "drop")
end

function lib.drop_folder()
  local folder = lib.setting("drop_folder")
  if folder == "" then return lib.default_drop_folder() end
  if folder:sub(1, 1) == "~" then folder = home() .. folder:sub(2) end
  return folder
end

function lib.message(text)
  reaper.ShowMessageBox(text, TITLE, 0)
end

------------------------------------------------------------------------------ presets

function lib.presets()
  local text = reaper.GetExtState(SECTION, "presets")
  local ok, presets = pcall(json.decode, text ~= "" and text or "{}")
  if not ok or type(presets) ~= "table" or json.is_array(presets) then return json.object() end
  return presets
end

function lib.save_preset(name, text, strength)
  local presets = lib.presets()
  presets[name] = { text = text, strength = strength }
  lib.set_setting("presets", json.encode(presets))
end

------------------------------------------------------------------------------ dialogs

-- GetUserInputs gives its answers back through a buffer of this many bytes (its last one
-- the terminating zero): answers that fill it may have been cut.
lib.INPUTS_BUFFER = 1024
lib.TOO_LONG = "The answers are too long for REAPER's dialog, which gives back at most %d "
  .. "characters. Put long lyrics in the selected item's notes (Item notes...) and type "
  .. "@notes, or in a text file beside the project and type @ and its name."

-- Asks for `fields` ({caption, key, default}) with defaults the last values used, which
-- are kept per action. Returns {key = text}; nil when cancelled; nil and a message when
-- the answers may have been cut. The separator is a newline, so answers may contain commas.
function lib.ask(title, action, fields)
  local captions, defaults = {}, {}
  for i, field in ipairs(fields) do
    captions[i] = field.caption
    local last = reaper.GetExtState(SECTION, "last." .. action .. "." .. field.key)
    defaults[i] = last ~= "" and last or field.default or ""
  end
  captions[#captions + 1] = "separator=\n"
  captions[#captions + 1] = "extrawidth=320"
  local ok, answer = reaper.GetUserInputs(title, #fields, table.concat(captions, ","),
    table.concat(defaults, "\n"))
  if not ok then return nil end
  if #answer >= lib.INPUTS_BUFFER - 1 then
    return nil, string.format(lib.TOO_LONG, lib.INPUTS_BUFFER - 1)
  end
  local values, i = {}, 0
  for value in (answer .. "\n"):gmatch("([^\n]*)\n") do
    i = i + 1
    if fields[i] then values[fields[i].key] = value:match("^%s*(.-)%s*$") end
  end
  for _, field in ipairs(fields) do
    values[field.key] = values[field.key] or ""
    lib.set_setting("last." .. action .. "." .. field.key, values[field.key])
  end
  return values
end

-- `text` as a number within [low, high], or nil and a message naming the field.
function lib.number_in(text, caption, low, high)
  local value = tonumber(text)
  if value == nil or value ~= value or value < low or value > high then
    return nil, string.format("%s must be a number from %s to %s (got '%s').", caption,
      context.seconds(low), context.seconds(high), text)
  end
  return value
end

------------------------------------------------------------------------------ actions

local STRENGTH_EDIT = { caption = "Strength (0.2 to 1)", key = "strength", default = "0.5",
  low = 0.2, high = 1 }
local PROMPT = { caption = "Prompt (or @preset)", key = "prompt", default = "" }
local PRESET = { caption = "Save prompt as preset (name)", key = "save_as", default = "" }

-- What each action asks for and sends. `selection`: "required", "optional" or nil (not sent).
lib.ACTIONS = {
  replace_music = { title = "Replace time selection", clip = true, selection = "required",
    fields = { PROMPT, STRENGTH_EDIT, PRESET } },
  extend_music = { title = "Extend item", clip = true, selection = "optional",
    fields = { PROMPT, STRENGTH_EDIT,
      { caption = "Seconds to add", key = "seconds", default = "30", low = 1, high = 600 },
      PRESET } },
  swap_music_vocals = { title = "Swap vocals", clip = true, selection = "optional",
    fields = { PROMPT, STRENGTH_EDIT, PRESET } },
  swap_music_sound = { title = "Swap instrumental", clip = true, selection = "optional",
    fields = { PROMPT, STRENGTH_EDIT, PRESET } },
  cover_music = { title = "Cover", clip = true, selection = "optional",
    fields = { PROMPT, STRENGTH_EDIT,
      { caption = "Cover strength (0 to 1)", key = "cover", default = "0.6", low = 0, high = 1 },
      PRESET } },
  music_variation = { title = "Variation", clip = true, selection = "optional",
    empty_prompt = true, fields = { PROMPT, STRENGTH_EDIT, PRESET } },
  stems_only = { title = "Stems only", clip = true, selection = "optional", no_prompt = true,
    fields = {} },
  create_music = { title = "Create in time selection", clip = false, selection = "required",
    fields = { PROMPT,
      { caption = "Strength (-1 to 1)", key = "strength", default = "0.5", low = -1, high = 1 },
      { caption = "Lyrics (text or @notes or @file.txt)", key = "lyrics", default = "" },
      PRESET } },
}

-- The prompt {text, strength} from the answers, resolving "@name" presets; or nil, message.
local function prompt_of(spec, values)
  local text, strength = values.prompt, nil
  local name = text:match("^@(.+)$")
  if name then
    local preset = lib.presets()[name]
    if type(preset) ~= "table" then
      return nil, string.format("There is no prompt preset named '%s'. Save one with the "
        .. "'Save prompt as preset' field.", name)
    end
    text, strength = preset.text, preset.strength
  end
  if text == "" and not spec.empty_prompt then
    return nil, "Type a prompt: what the music should sound like."
  end
  if strength == nil then
    local field = spec.fields[2]
    local err
    strength, err = lib.number_in(values.strength, field.caption, field.low, field.high)
    if not strength then return nil, err end
  end
  if values.save_as ~= "" then lib.save_preset(values.save_as, text, strength) end
  return { text = text, strength = strength }
end

-- The request for `action` from the answers and the context; or nil and a message.
function lib.build_request(action, values, ctx)
  local spec = lib.ACTIONS[action]
  local request = {
    version = 1,
    action = action,
    project = { folder = ctx.project.folder, sampleRate = ctx.sample_rate },
    options = { stems = spec.no_prompt or lib.setting("stems") == "1",
      importAs = lib.setting("import_as") },
  }
  if not spec.no_prompt then
    local prompt, err = prompt_of(spec, values)
    if not prompt then return nil, err end
    request.prompts = json.array({ prompt })
  end
  if ctx.clip then request.clip = ctx.clip end
  if ctx.selection then request.selection = ctx.selection end
  if lib.setting("model") ~= "" then request.model = lib.setting("model") end
  for _, field in ipairs(spec.fields) do
    if field.key == "seconds" or field.key == "cover" then
      local value, problem = lib.number_in(values[field.key], field.caption, field.low, field.high)
      if not value then return nil, problem end
      local name = field.key == "seconds" and "extendDuration" or "coverStrength"
      request.params = { [name] = value }
    end
  end
  if values.lyrics and values.lyrics ~= "" then
    local lyrics, problem = context.lyrics(reaper, values.lyrics, ctx.project.folder)
    if not lyrics then return nil, problem end
    request.lyrics = lyrics
  end
  return request
end

-- Everything the action needs from REAPER, or nil and a message.
function lib.read_context(action)
  local spec = lib.ACTIONS[action]
  local project, err = context.project(reaper)
  if not project then return nil, err end
  local ctx = { project = project, sample_rate = context.sample_rate(reaper) }
  local selection = context.selection(reaper)
  if spec.clip then
    ctx.clip, err = context.clip(reaper)
    if not ctx.clip then return nil, err end
  end
  if spec.selection == "required" and not selection then
    return nil, context.messages.no_selection[action]
  end
  if spec.selection and selection then
    if ctx.clip then
      selection, err = context.overlap(selection, ctx.clip, action)
      if not selection then return nil, err end
    end
    ctx.selection = selection
  end
  return ctx
end

-- The names of the folders in `path` (none when it does not exist).
local function subfolders(path)
  local names, i = {}, 0
  reaper.EnumerateSubdirectories(path, -1) -- read the folder again, not REAPER's cache of it
  while true do
    local name = reaper.EnumerateSubdirectories(path, i)
    if not name then return names end
    names[name], i = true, i + 1
  end
end

-- Writes `request` into <drop>/requests/ under a new name; returns the path, or nil and a
-- message.
function lib.send(request)
  local drop = lib.drop_folder()
  local present = subfolders(drop)
  if next(present) == nil then
    return nil, string.format("The drop folder %s does not exist (or is empty). Start "
      .. "`producer-bridge serve` once: it makes the folder and its subfolders. Or set the "
      .. "folder with 'ProducerBridge - Settings'.", drop)
  end
  local folder = files.join(drop, "requests")
  if not present.requests then reaper.RecursiveCreateDirectory(folder, 0) end
  local name = string.format("%s-%s-%04x.json", os.date("%Y%m%d-%H%M%S"), request.action,
    math.random(0, 0xffff))
  local path = files.join(folder, name)
  local ok, err = files.write_atomic(path, json.encode(request) .. "\n")
  if not ok then return nil, "Could not write the request: " .. err end
  return path
end

-- Runs one action end to end: context, dialog, request, file. Problems become messages.
function lib.run_action(action)
  local spec = assert(lib.ACTIONS[action], "unknown action " .. tostring(action))
  math.randomseed(os.time(), math.floor(reaper.time_precise() * 1000))
  local ctx, err = lib.read_context(action)
  if not ctx then return lib.message(err) end
  local values = {}
  if #spec.fields > 0 then
    values, err = lib.ask(TITLE .. ": " .. spec.title, action, spec.fields)
    if err then return lib.message(err) end
    if not values then return end -- cancelled
  end
  local request
  request, err = lib.build_request(action, values, ctx)
  if not request then return lib.message(err) end
  local path
  path, err = lib.send(request)
  if not path then return lib.message(err) end
  local sent = string.format("%s: %s request sent (%s)", TITLE, spec.title, files.basename(path))
  reaper.Help_Set(sent, false)
  if lib.setting("confirm") == "1" then lib.message(sent) end
  return path
end

------------------------------------------------------------------------------ settings dialog

local SETTINGS_FIELDS = {
  { caption = "Drop folder", key = "drop_folder" },
  { caption = "Import as (takes/tracks/none)", key = "import_as" },
  { caption = "Model (empty: daemon default)", key = "model" },
  { caption = "Stems too (0/1)", key = "stems" },
  { caption = "Results folder in project", key = "results_folder" },
  { caption = "Confirm each request (0/1)", key = "confirm" },
  { caption = "Import spliced file (0/1)", key = "import_spliced" },
}

function lib.run_settings()
  local captions, defaults = {}, {}
  for i, field in ipairs(SETTINGS_FIELDS) do
    captions[i] = field.caption
    defaults[i] = field.key == "drop_folder" and lib.drop_folder() or lib.setting(field.key)
  end
  captions[#captions + 1] = "separator=\n"
  captions[#captions + 1] = "extrawidth=320"
  local ok, answer = reaper.GetUserInputs(TITLE .. ": Settings", #SETTINGS_FIELDS,
    table.concat(captions, ","), table.concat(defaults, "\n"))
  if not ok then return end
  local values, i = {}, 0
  for value in (answer .. "\n"):gmatch("([^\n]*)\n") do
    i = i + 1
    if SETTINGS_FIELDS[i] then values[SETTINGS_FIELDS[i].key] = value:match("^%s*(.-)%s*$") end
  end
  local problems = {}
  if not lib.IMPORT_TARGETS[values.import_as or ""] then
    problems[#problems + 1] = "Import as must be takes, tracks or none."
  end
  for _, field in ipairs(SETTINGS_FIELDS) do
    local name = field.caption:match("^(.-) %(0/1%)$")
    if name and values[field.key] ~= "0" and values[field.key] ~= "1" then
      problems[#problems + 1] = name .. " must be 0 or 1."
    end
  end
  if (values.results_folder or "") == "" or values.results_folder:match("[/\\]") then
    problems[#problems + 1] = "Results folder must be a folder name (no / or \\)."
  end
  if values.drop_folder ~= "" and not files.is_absolute(values.drop_folder)
      and values.drop_folder:sub(1, 1) ~= "~" then
    problems[#problems + 1] = "Drop folder must be an absolute path."
  end
  if #problems > 0 then return lib.message(table.concat(problems, "\n")) end
  if values.drop_folder == lib.default_drop_folder() then values.drop_folder = "" end
  for _, field in ipairs(SETTINGS_FIELDS) do lib.set_setting(field.key, values[field.key]) end
  reaper.Help_Set(TITLE .. ": settings saved", false)
end

------------------------------------------------------------------------------ import, monitor, install

function lib.run_import()
  return dofile(HERE .. "importer.lua").run(lib)
end

function lib.run_monitor()
  return dofile(HERE .. "monitor.lua").run(lib)
end

function lib.run_install_actions(folder)
  return dofile(HERE .. "install.lua").run(lib, folder)
end

return lib
