-- @noindex
-- What the Producer Bridge scripts read from REAPER: the project, its sample rate, the time
-- selection and the selected item. Everything the bridge cannot map honestly onto the
-- timeline is refused here with a message that says what to do instead.

local files = dofile((debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "") .. "files.lua")

local context = {}

local GLUE = "Glue it first (Item: Glue items) or render it, then select the new item."

context.messages = {
  unsaved = "Save the project first: results are written into the project's folder, "
    .. "and an unsaved project has none yet.",
  no_item = "Select the audio item to work on (click it), then run this action again.",
  no_take = "The selected item is empty. Select an item that holds audio.",
  midi = "The selected item is MIDI; Producer Bridge works on audio. Render it to audio "
    .. "first (Item: Apply track/take FX to items as new take), then select the audio item.",
  no_file = "The selected take has no audio file behind it. " .. GLUE,
  not_audio = "The selected take plays %s, not an audio file. " .. GLUE,
  pitch_envelope = "The selected take has a pitch envelope, which a new take would not "
    .. "follow. " .. GLUE,
  reversed = "The selected take is reversed, which the bridge cannot map onto the timeline. "
    .. GLUE,
  stretch = "The selected take has stretch markers, which the bridge cannot map onto the "
    .. "timeline. " .. GLUE,
  section = "The selected take plays a section of its source that the bridge cannot map "
    .. "onto the timeline. " .. GLUE,
  playrate = "The selected take's playrate is %s, which cannot be mapped onto the timeline. "
    .. "Set a playrate above 0, or glue the item (Item: Glue items).",
  before_source = "The selected item starts %s s before the beginning of its source file. "
    .. "Trim its start, or glue it (Item: Glue items).",
  no_selection = {
    replace_music = "Set a time selection over the part of the item to regenerate, then run "
      .. "this action again.",
    create_music = "Set a time selection where the new music should go, then run this "
      .. "action again.",
  },
  miss = "The time selection (%s..%s s) does not overlap the selected item (%s..%s s). Move "
    .. "the time selection onto the item, or select the item under it.",
  miss_extend = " To continue from the item's end instead, clear the time selection.",
  lyrics_item = "Select the item whose notes hold the lyrics (Item notes...), then run this "
    .. "action again.",
  lyrics_notes = "The selected item has no notes. Write the lyrics in its notes (Item "
    .. "notes...), or type @ and the name of a text file beside the project.",
  lyrics_file = "Cannot read the lyrics file %s (%s). Put it beside the project and type @ "
    .. "and its name, or type @notes to use the selected item's notes.",
}

-- Seconds as short text: 64, 1.5, 0.125.
function context.seconds(value)
  local text = string.format("%.3f", value):gsub("0+$", ""):gsub("%.$", "")
  return text
end

-- The current project's folder (where its .rpp is) and file, or nil and a message.
function context.project(r)
  local _, file = r.EnumProjects(-1)
  if file == nil or file == "" then return nil, context.messages.unsaved end
  return { folder = files.dirname(file), file = file }
end

-- The project's sample rate when it sets one, else the audio device's; nil when neither
-- is known (the daemon then keeps the result's own rate).
function context.sample_rate(r)
  local rate
  if r.GetSetProjectInfo(0, "PROJECT_SRATE_USE", 0, false) == 1 then
    rate = r.GetSetProjectInfo(0, "PROJECT_SRATE", 0, false)
  else
    local ok, text = r.GetAudioDeviceInfo("SRATE")
    rate = ok and tonumber(text) or nil
  end
  if not rate then return nil end
  rate = math.floor(rate + 0.5)
  if rate < 8000 or rate > 384000 then return nil end
  return math.tointeger(rate)
end

-- The time selection as {start, end}, or nil when there is none.
function context.selection(r)
  local start, stop = r.GetSet_LoopTimeRange(false, false, 0, 0, false)
  if stop > start then return { start = start, ["end"] = stop } end
  return nil
end

-- Source types (GetMediaSourceType) of the audio files the daemon reads.
context.AUDIO_TYPES = { WAVE = true, FLAC = true, MP3 = true, VORBIS = true, OPUS = true }

-- Why the file source `source` cannot be sent, or nil when it is an audio file.
local function not_audio(r, source)
  local kind = r.GetMediaSourceType(source)
  if context.AUDIO_TYPES[kind] then return nil end
  if kind == "MIDI" or kind == "MIDIPOOL" then return context.messages.midi end
  local what = string.format("a %s source", kind)
  if kind == "RPP_PROJECT" then
    what = string.format("a subproject (%s)", files.basename(r.GetMediaSourceFileName(source)))
  elseif kind == "VIDEO" then
    what = "a video"
  end
  return string.format(context.messages.not_audio, what)
end

-- Follows section and reverse wrappers down to the file, moving the visible span
-- [first, last] (seconds in the outermost source) into the file's time.
local function file_source(r, source, first, last)
  local parent = r.GetMediaSourceParent(source)
  while parent do
    local ok, offset, length, reversed = r.PCM_Source_GetSectionInfo(source)
    if ok and reversed then return nil, context.messages.reversed end
    if not ok then return nil, context.messages.section end
    if length > 0 and last > length + 1e-6 then return nil, context.messages.section end
    first, last = first + offset, last + offset
    source, parent = parent, r.GetMediaSourceParent(parent)
  end
  local refused = not_audio(r, source)
  if refused then return nil, refused end
  return source, first
end

-- Whether `take` has an envelope named `name` with points on it.
local function has_envelope(r, take, name)
  local envelope = r.GetTakeEnvelopeByName(take, name)
  return envelope ~= nil and r.CountEnvelopePoints(envelope) > 0
end

-- The selected item as a clip {path, itemPosition, takeOffset, playrate, length} plus the
-- item itself (`item`), or nil and a message saying why it cannot be used.
function context.clip(r)
  local item = r.GetSelectedMediaItem(0, 0)
  if not item then return nil, context.messages.no_item end
  local take = r.GetActiveTake(item)
  if not take then return nil, context.messages.no_take end
  if r.TakeIsMIDI(take) then return nil, context.messages.midi end
  local playrate = r.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
  if not (playrate > 0) then
    return nil, string.format(context.messages.playrate, context.seconds(playrate))
  end
  if r.GetTakeNumStretchMarkers(take) > 0 then return nil, context.messages.stretch end
  if has_envelope(r, take, "Pitch") then return nil, context.messages.pitch_envelope end
  local position = r.GetMediaItemInfo_Value(item, "D_POSITION")
  local length = r.GetMediaItemInfo_Value(item, "D_LENGTH")
  local offset = r.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
  local source, file_offset = file_source(r, r.GetMediaItemTake_Source(take), offset,
    offset + length * playrate)
  if not source then return nil, file_offset end
  local path = r.GetMediaSourceFileName(source)
  if path == nil or path == "" then return nil, context.messages.no_file end
  if file_offset < -1e-9 then
    return nil, string.format(context.messages.before_source, context.seconds(-file_offset))
  end
  return {
    path = path,
    itemPosition = position,
    takeOffset = math.max(file_offset, 0),
    playrate = playrate,
    length = length,
  }, item
end

-- Lyrics from the dialog's answer: "@notes" reads the selected item's notes, "@NAME" the
-- text file NAME (beside the project, or absolute), anything else is the lyrics as typed.
-- Line breaks are kept (as "\n"). Returns the text, or nil and a message.
function context.lyrics(r, answer, folder)
  local name = answer:match("^@(.+)$")
  if not name then return answer end
  local text, err
  if name == "notes" then
    local item = r.GetSelectedMediaItem(0, 0)
    if not item then return nil, context.messages.lyrics_item end
    local _
    _, text = r.GetSetMediaItemInfo_String(item, "P_NOTES", "", false)
    if text == "" then return nil, context.messages.lyrics_notes end
  else
    local path = files.is_absolute(name) and name or files.join(folder, name)
    text, err = files.read(path)
    if not text then return nil, string.format(context.messages.lyrics_file, path, err) end
  end
  return (text:gsub("\r\n?", "\n"))
end

-- The part of `selection` over the clip, or nil and a message when they do not overlap.
function context.overlap(selection, clip, action)
  local first, last = clip.itemPosition, clip.itemPosition + clip.length
  local start, stop = math.max(selection.start, first), math.min(selection["end"], last)
  if stop - start > 1e-9 then return { start = start, ["end"] = stop } end
  local message = string.format(context.messages.miss, context.seconds(selection.start),
    context.seconds(selection["end"]), context.seconds(first), context.seconds(last))
  if action == "extend_music" then message = message .. context.messages.miss_extend end
  return nil, message
end

return context
