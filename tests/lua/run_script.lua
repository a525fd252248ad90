-- Runs a REAPER script under the fake REAPER and prints what happened as JSON.
--
--   lua5.4 run_script.lua SCENARIO.json SCRIPT.lua   run SCRIPT with the scenario
--   lua5.4 run_script.lua --api                      list the functions the fake implements
--
-- The output: {error, calls, messages, help, dialogs, extstate, persist, projextstate, undo,
-- arrange_updates, created_dirs, globals, frames, drawn, window_closed, tracks}.

local HERE = arg[0]:match("^(.*[/\\])") or "./"
local json = dofile(HERE .. "../../reaper_scripts/ProducerBridge/json.lua")
local fake = dofile(HERE .. "fake_reaper.lua")
local MAX_FRAMES = 1000

local function names(t, prefix, out)
  for name, value in pairs(t) do
    if type(value) == "function" then out[#out + 1] = prefix .. name end
  end
end

if arg[1] == "--api" then
  local reaper, gfx = fake.new({}, json.null)
  local out = json.array()
  names(reaper, "", out)
  names(gfx, "gfx.", out)
  table.sort(out)
  print(json.encode(out))
  return
end

local function read(path)
  local handle = assert(io.open(path, "rb"))
  local text = handle:read("a")
  handle:close()
  return text
end

local scenario = json.decode(read(arg[1]))
local reaper, gfx, state = fake.new(scenario, json.null)

local before = {}
for name in pairs(_G) do before[name] = true end
_G.reaper, _G.gfx = reaper, gfx
before.reaper, before.gfx = true, true

local failure = json.null
local function run(fn)
  local ok, err = xpcall(fn, debug.traceback)
  if not ok and failure == json.null then failure = tostring(err) end
end
run(function() dofile(arg[2]) end)
local frames = 0
while #state.deferred > 0 and frames < MAX_FRAMES and failure == json.null do
  local pending = state.deferred
  state.deferred = {}
  frames = frames + 1
  for _, fn in ipairs(pending) do run(fn) end
end

-- Plain data for the JSON dump: objects become "Kind#id"; tables with keys 1..n arrays.
local function plain(value)
  if type(value) == "table" and value.kind then return value.kind .. "#" .. value.id end
  if type(value) == "function" then return "function" end
  if type(value) ~= "table" or value == json.null then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = plain(v) end
  if next(out) == nil then return json.object() end
  return out
end

local function list(t)
  local out = json.array()
  for i, v in ipairs(t) do out[i] = plain(v) end
  return out
end

local function track_dump(track)
  local items = json.array()
  for _, item in ipairs(track.items) do
    local takes = json.array()
    for _, take in ipairs(item.takes) do
      local source = take.source or {}
      takes[#takes + 1] = {
        name = take.name, offset = take.offset, playrate = take.playrate,
        preserve_pitch = take.preserve_pitch, pitch = take.pitch, pitch_mode = take.pitch_mode,
        chan_mode = take.chan_mode, file = source.file or json.null,
        peaks = source.peaks or json.null,
      }
    end
    items[#items + 1] = { position = item.position, length = item.length, active = item.active,
      takes = takes }
  end
  return { name = track.name, depth = track.depth, items = items }
end

-- The folder of each track, by name, from the depths above it (nil: at the top level).
local function folders(tracks)
  local open, parents = {}, {}
  for i, track in ipairs(tracks) do
    parents[i] = open[#open] and open[#open].name or json.null
    if track.depth > 0 then open[#open + 1] = track end
    for _ = 1, -math.min(track.depth, 0) do open[#open] = nil end
  end
  return parents
end

local calls = json.array()
for i, call in ipairs(state.calls) do
  local args = json.array()
  for j = 1, call.args.n do args[j] = call.args[j] == nil and json.null or plain(call.args[j]) end
  calls[i] = { name = call.name, args = args }
end
local tracks = json.array()
local parents = folders(state.tracks)
for i, track in ipairs(state.tracks) do
  tracks[i] = track_dump(track)
  tracks[i].folder = parents[i]
end
local globals = json.array()
for name in pairs(_G) do if not before[name] then globals[#globals + 1] = name end end
table.sort(globals)
local drawn = json.array()
for frame = 1, state.frame do drawn[frame] = list(state.drawn[frame] or {}) end
local dialogs = json.array()
for i, d in ipairs(state.dialogs) do
  dialogs[i] = { title = d.title, captions = list(d.captions), defaults = list(d.defaults),
    separator = d.separator, extrawidth = d.extrawidth or json.null }
end

print(json.encode({
  error = failure,
  calls = calls,
  messages = list(state.messages),
  help = list(state.help),
  dialogs = dialogs,
  extstate = plain(state.extstate),
  persist = plain(state.persist),
  projextstate = plain(state.projextstate),
  undo = list(state.undo),
  arrange_updates = state.arrange_updates,
  created_dirs = list(state.created_dirs),
  registered = list(state.registered),
  globals = globals,
  frames = frames,
  drawn = drawn,
  window = state.window or json.null,
  window_closed = state.window_closed == true,
  tracks = tracks,
}))
