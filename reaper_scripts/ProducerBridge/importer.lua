-- @noindex
-- Places finished jobs' files on the timeline: reads <project>/<results folder>/index.jsonl
-- (one line per finished job, written by the daemon), each job's manifest.json, and puts
-- every file at the timeline position the manifest gives.
--
--   replace and extend place spliced.wav (the original, untouched outside the new part)
--     rather than the result when the job wrote one, unless import_spliced is "0";
--   replace, cover, swap, variation: new takes on the source item (importAs "takes"), or
--     items on a new track (importAs "tracks", when the source item is gone, or when the
--     file covers only part of the item: a selection, or the window of a long item);
--   extend: a new item where the continuation starts, its take starting at that point of
--     the result (the result holds the clip and its continuation);
--   create: items on a new track at the selection start;
--   stems: a folder track with one child track per stem;
--   importAs "none": nothing is placed.
-- New tracks go right below the source track, beside it: in the folder it is in, never in
-- a folder it opens, and every folder keeps the tracks it had. Each new take plays like the
-- source take (rate, preserve pitch, pitch, pitch mode, channel mode), and the peaks of
-- every new source are built so that its waveform draws.
-- A job placed once is marked in the project's ExtState and never placed again.

local HERE = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local json = dofile(HERE .. "json.lua")
local files = dofile(HERE .. "files.lua")
local context = dofile(HERE .. "context.lua")

local importer = {}

local SECTION = "ProducerBridge"
local EPSILON = 1e-6

local function value(v)
  if v == json.null then return nil end
  return v
end

-- A path from the daemon, relative with "/", that stays inside its folder.
local function safe_relative(path)
  return type(path) == "string" and path ~= "" and not path:match("^/") and not path:match("\\")
    and not ("/" .. path .. "/"):find("/%.%./")
end

function importer.imported(job_id)
  local _, stamp = reaper.GetProjExtState(0, SECTION, "imported." .. job_id)
  return stamp ~= nil and stamp ~= ""
end

local function mark_imported(job_id)
  reaper.SetProjExtState(0, SECTION, "imported." .. job_id, os.date("!%Y-%m-%dT%H:%M:%SZ"))
end

-- The index entries in order; lines that are not JSON objects with a jobId are skipped.
function importer.read_index(text)
  local entries = {}
  for line in text:gmatch("[^\r\n]+") do
    local ok, entry = pcall(json.decode, line)
    if ok and type(entry) == "table" and type(entry.jobId) == "string" then
      entries[#entries + 1] = entry
    end
  end
  return entries
end

local function read_manifest(root, entry)
  if not safe_relative(entry.manifest) then return nil, "the index names no usable manifest" end
  local text, err = files.read(files.from_posix(root, entry.manifest))
  if not text then return nil, "cannot read its manifest: " .. tostring(err) end
  local ok, manifest = pcall(json.decode, text)
  if not ok or type(manifest) ~= "table" then return nil, "its manifest is not JSON" end
  if manifest.schemaVersion ~= 1 then
    return nil, "its manifest has schemaVersion " .. tostring(value(manifest.schemaVersion))
      .. ", which this script does not read; update the REAPER scripts"
  end
  return manifest
end

-- The file under the source of `take`, following section and reverse wrappers.
local function take_file(take)
  local source = reaper.GetMediaItemTake_Source(take)
  if not source then return nil end
  local parent = reaper.GetMediaSourceParent(source)
  while parent do source, parent = parent, reaper.GetMediaSourceParent(parent) end
  return reaper.GetMediaSourceFileName(source)
end

-- The item the job's clip came from (at the same position, with a take on the same file),
-- and that take.
local function find_source_item(clip)
  for i = 0, reaper.CountMediaItems(0) - 1 do
    local item = reaper.GetMediaItem(0, i)
    local position = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
    if math.abs(position - clip.itemPosition) < EPSILON then
      for t = 0, reaper.CountTakes(item) - 1 do
        local take = reaper.GetTake(item, t)
        if take and take_file(take) == clip.path then return item, take end
      end
    end
  end
  return nil
end

local function seconds_of(entry)
  return entry.lengthSamples / entry.sampleRate / entry.playrate
end

-- What makes a take sound as it does besides its source and rate: copied from the source
-- take to every new take.
local SOUND = { "B_PPITCH", "D_PITCH", "I_PITCHMODE", "I_CHANMODE" }

-- Builds the peaks of `source` (the waveform REAPER draws), to the end.
local function build_peaks(source)
  if reaper.PCM_Source_BuildPeaks(source, 0) == 0 then return end
  while reaper.PCM_Source_BuildPeaks(source, 1) > 0 do end
  reaper.PCM_Source_BuildPeaks(source, 2)
end

-- A take playing `path` from `offset` (source seconds) at the entry's playrate, sounding
-- like `like` (the source take, when there is one).
local function add_take(item, path, entry, offset, name, like)
  local take = reaper.AddTakeToMediaItem(item)
  local source = reaper.PCM_Source_CreateFromFile(path)
  reaper.SetMediaItemTake_Source(take, source)
  reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", offset)
  reaper.SetMediaItemTakeInfo_Value(take, "D_PLAYRATE", entry.playrate)
  if like then
    for _, parm in ipairs(SOUND) do
      reaper.SetMediaItemTakeInfo_Value(take, parm, reaper.GetMediaItemTakeInfo_Value(like, parm))
    end
  end
  reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", name, true)
  reaper.SetActiveTake(take)
  build_peaks(source)
  return take
end

local function add_item(track, path, entry, position, length, offset, name, like)
  local item = reaper.AddMediaItemToTrack(track)
  reaper.SetMediaItemInfo_Value(item, "D_POSITION", position)
  reaper.SetMediaItemInfo_Value(item, "D_LENGTH", length)
  add_take(item, path, entry, offset, name, like)
  return item
end

-- Whether a file from `start` for `length` seconds covers the whole item.
local function covers(item, start, length)
  local position = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
  local item_end = position + reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
  return start <= position + EPSILON and start + length >= item_end - EPSILON
end

local function depth_of(track)
  return math.tointeger(reaper.GetMediaTrackInfo_Value(track, "I_FOLDERDEPTH")) or 0
end

-- Where new tracks go: beside `source_track` (below it, or below the folder it opens), or
-- at the end of the project. `closer` is the track that ends what the source track is,
-- `excess` the folders it closes besides its own, which the last new track closes instead.
local function track_slot(source_track)
  local count = reaper.CountTracks(0)
  if not source_track then return { index = count, new = {}, excess = 0 } end
  local first = math.tointeger(reaper.GetMediaTrackInfo_Value(source_track, "IP_TRACKNUMBER")) - 1
  local level = 0 -- how many folders the source track is in
  for i = 0, first - 1 do level = level + depth_of(reaper.GetTrack(0, i)) end
  local last, after = first, level + depth_of(source_track)
  while after > level and last + 1 < count do
    last = last + 1
    after = after + depth_of(reaper.GetTrack(0, last))
  end
  local closer = reaper.GetTrack(0, last)
  return { index = last + 1, new = {}, closer = closer, closer_depth = depth_of(closer),
    excess = math.max(level - after, 0) }
end

local function insert_track(slot, name, depth)
  reaper.InsertTrackAtIndex(slot.index, true)
  local track = reaper.GetTrack(0, slot.index)
  reaper.GetSetMediaTrackInfo_String(track, "P_NAME", name, true)
  slot.index = slot.index + 1
  slot.new[#slot.new + 1] = { track = track, depth = depth }
  return track
end

-- Sets every depth the new tracks need (all of them, so that how REAPER treated the
-- neighbours of an inserted track does not matter).
local function close_slot(slot)
  if #slot.new == 0 then return end
  if slot.closer then
    reaper.SetMediaTrackInfo_Value(slot.closer, "I_FOLDERDEPTH", slot.closer_depth + slot.excess)
  end
  slot.new[#slot.new].depth = slot.new[#slot.new].depth - slot.excess
  for _, new in ipairs(slot.new) do
    reaper.SetMediaTrackInfo_Value(new.track, "I_FOLDERDEPTH", new.depth)
  end
end

-- Places one job; returns true, or nil and why (nothing is placed then). `placed_kind`:
-- "spliced" places the spliced file where the job wrote one, "result" the raw result.
local function place(manifest, folder, placed_kind)
  local target = value(manifest.importAs) or "takes"
  if target == "none" then return true end
  local results, stems, clips, seen = {}, {}, {}, {}
  for _, entry in ipairs(manifest.files or {}) do
    if not safe_relative(entry.path) then return nil, "a file path in its manifest is unsafe" end
    entry.file = files.from_posix(folder, entry.path)
    if not files.exists(entry.file) then return nil, "its file " .. entry.file .. " is missing" end
    if not seen[entry.clip] then clips[#clips + 1], seen[entry.clip] = entry.clip, true end
    if entry.kind == "result" or entry.kind == "spliced" then
      if not results[entry.clip] or entry.kind == placed_kind then results[entry.clip] = entry end
    else
      stems[entry.clip] = stems[entry.clip] or {}
      table.insert(stems[entry.clip], entry)
    end
  end
  table.sort(clips)
  local clip = value(manifest.clip)
  local source_item, like
  if clip then source_item, like = find_source_item(clip) end
  local label = value(manifest.title) or manifest.action
  label = label .. " " .. manifest.jobId:sub(1, 8)
  local slot = track_slot(source_item and reaper.GetMediaItem_Track(source_item))
  local function new_track(name, depth) return insert_track(slot, name, depth) end

  for _, k in ipairs(clips) do
    local entry = results[k]
    if not entry then goto next_clip end -- stems_only: the stems are all there is
    local name = #clips > 1 and (label .. " #" .. k) or label
    local start, length = entry.position.seconds, seconds_of(entry)
    if manifest.action == "extend_music" then
      -- The result is the clip and its continuation: place the continuation only.
      local continue_at = value(manifest.request.continueAt) or 0
      local skip = continue_at / entry.playrate
      if length - skip <= EPSILON then skip, continue_at = 0, 0 end
      local track
      if target == "takes" and source_item then
        local item_end = reaper.GetMediaItemInfo_Value(source_item, "D_POSITION")
          + reaper.GetMediaItemInfo_Value(source_item, "D_LENGTH")
        if start + skip >= item_end - EPSILON then
          track = reaper.GetMediaItem_Track(source_item) -- no overlap: continue on its track
        end
      end
      track = track or new_track(name, 0)
      add_item(track, entry.file, entry, start + skip, length - skip, continue_at, name, like)
    elseif target == "takes" and source_item and covers(source_item, start, length) then
      local offset = (reaper.GetMediaItemInfo_Value(source_item, "D_POSITION") - start)
        * entry.playrate
      add_take(source_item, entry.file, entry, offset, name, like)
    else
      -- A result over part of the item only (a selection, or the window of a long item)
      -- would leave the rest of a take silent: it goes on a track of its own instead.
      add_item(new_track(name, 0), entry.file, entry, start, length, 0, name, like)
    end
    ::next_clip::
  end
  for _, k in ipairs(clips) do
    local group = stems[k]
    if group then
      table.sort(group, function(a, b) return a.kind < b.kind end)
      new_track((#clips > 1 and (label .. " #" .. k) or label) .. " stems", 1)
      for i, entry in ipairs(group) do
        local track = new_track(entry.kind, i == #group and -1 or 0)
        add_item(track, entry.file, entry, entry.position.seconds, seconds_of(entry), 0,
          entry.kind, like)
      end
    end
  end
  close_slot(slot)
  return true
end

-- Imports every job of the current project not imported yet. `lib` gives settings and
-- messages. Returns the number of jobs placed.
function importer.run(lib)
  local project, err = context.project(reaper)
  if not project then lib.message(err) return 0 end
  local root = files.join(project.folder, lib.setting("results_folder"))
  local text = files.read(files.join(root, "index.jsonl"))
  if not text then
    reaper.Help_Set(lib.TITLE .. ": no results yet in " .. root, false)
    return 0
  end
  local pending = {}
  for _, entry in ipairs(importer.read_index(text)) do
    if not importer.imported(entry.jobId) then pending[#pending + 1] = entry end
  end
  if #pending == 0 then
    reaper.Help_Set(lib.TITLE .. ": nothing new to import", false)
    return 0
  end
  local placed, problems = 0, {}
  -- The spliced file (the original, untouched outside the new part) unless set otherwise.
  local placed_kind = lib.setting("import_spliced") == "0" and "result" or "spliced"
  reaper.Undo_BeginBlock()
  for _, entry in ipairs(pending) do
    local manifest, ok
    manifest, err = read_manifest(root, entry)
    if manifest then ok, err = place(manifest, project.folder, placed_kind) end
    if ok then
      mark_imported(entry.jobId)
      placed = placed + 1
    else
      problems[#problems + 1] = "Job " .. entry.jobId:sub(1, 8) .. " was not imported: " .. err
    end
  end
  reaper.Undo_EndBlock(lib.TITLE .. ": import results", -1)
  reaper.UpdateArrange()
  reaper.Help_Set(string.format("%s: imported %d job(s)", lib.TITLE, placed), false)
  if #problems > 0 then lib.message(table.concat(problems, "\n")) end
  return placed
end

return importer
