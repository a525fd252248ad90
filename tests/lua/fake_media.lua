-- The media half of the fake REAPER: sources, take values and take envelopes, as the
-- ReaScript documentation describes them (see reascript_api_names.txt).
--
-- A source has a type (what GetMediaSourceType reports: "WAVE", "MIDI", "RPP_PROJECT",
-- "VIDEO", "SECTION" for a section or reverse wrapper, ...), a file, a length in seconds, a
-- sample rate and the state of its peaks. A scenario names the type, or it follows from the
-- file's extension.

local media = {}

local TYPES = {
  wav = "WAVE", w64 = "WAVE", flac = "FLAC", mp3 = "MP3",
  ogg = "VORBIS", opus = "OPUS", wv = "WAVPACK", mid = "MIDI", midi = "MIDI",
  rpp = "RPP_PROJECT", mp4 = "VIDEO", mov = "VIDEO", mkv = "VIDEO", avi = "VIDEO",
}

function media.type_of(file)
  local extension = (file or ""):match("%.([%w]+)$")
  return extension and TYPES[extension:lower()] or "WAVE"
end

-- Take values: parameter name -> field, default. B_ values are 0 or 1, I_ values integers.
media.TAKE_VALUES = {
  D_STARTOFFS = { "offset", 0 }, D_PLAYRATE = { "playrate", 1 },
  B_PPITCH = { "preserve_pitch", 0 }, D_PITCH = { "pitch", 0 },
  I_PITCHMODE = { "pitch_mode", -1 }, I_CHANMODE = { "chan_mode", 0 },
}

-- Installs the media functions on `r` through `record`. `new(kind, fields)` makes an object,
-- `get(t, key)` reads a scenario value (JSON null as nil).
function media.install(fake)
  local record, new, get, check, check_type = fake.record, fake.new, fake.get, fake.check,
    fake.check_type

  local function source_from(spec)
    if spec == nil then return nil end
    local parent = source_from(get(spec, "parent"))
    local file = get(spec, "file") or ""
    return new("PCM_source", {
      file = parent and "" or file,
      type = get(spec, "type") or (parent and "SECTION" or media.type_of(file)),
      length = get(spec, "length") or 600.0,
      rate = get(spec, "rate") or 48000,
      section = get(spec, "section"),
      parent = parent,
      peaks = get(spec, "peaks") and "built" or "none",
    })
  end
  media.source_from = source_from

  function media.take_from(item, spec)
    local take = new("MediaItem_Take", {
      item = item, name = get(spec, "name") or "", midi = get(spec, "midi") == true,
      stretch = get(spec, "stretch_markers") or 0, source = source_from(get(spec, "source")),
      envelopes = get(spec, "envelopes") or {},
    })
    for _, field in pairs(media.TAKE_VALUES) do
      take[field[1]] = get(spec, field[1]) or field[2]
    end
    return take
  end

  record("GetMediaItemTakeInfo_Value", function(take, parm)
    check(take, "MediaItem_Take", "GetMediaItemTakeInfo_Value", 1)
    local field = media.TAKE_VALUES[parm]
    if not field then error("fake REAPER: take value " .. tostring(parm), 2) end
    return take[field[1]] + 0.0
  end)
  record("SetMediaItemTakeInfo_Value", function(take, parm, value)
    check(take, "MediaItem_Take", "SetMediaItemTakeInfo_Value", 1)
    check_type(value, "number", "SetMediaItemTakeInfo_Value", 3)
    local field = media.TAKE_VALUES[parm]
    if not field then error("fake REAPER: take value " .. tostring(parm), 2) end
    if parm:match("^[BI]_") and math.tointeger(value) == nil then
      error("fake REAPER: take value " .. parm .. " is a whole number (got " .. value .. ")", 2)
    end
    take[field[1]] = value
    return true
  end)
  record("GetTakeEnvelopeByName", function(take, envname)
    check(take, "MediaItem_Take", "GetTakeEnvelopeByName", 1)
    check_type(envname, "string", "GetTakeEnvelopeByName", 2)
    local points = take.envelopes[envname]
    if points == nil then return nil end
    return new("TrackEnvelope", { points = points })
  end)
  record("CountEnvelopePoints", function(envelope)
    check(envelope, "TrackEnvelope", "CountEnvelopePoints", 1)
    return envelope.points
  end)
  record("GetMediaSourceType", function(...)
    fake.arity("GetMediaSourceType", 1, ...)
    local source = ...
    check(source, "PCM_source", "GetMediaSourceType", 1)
    return source.type
  end)
  record("GetMediaSourceFileName", function(...)
    fake.arity("GetMediaSourceFileName", 1, ...)
    local source = ...
    check(source, "PCM_source", "GetMediaSourceFileName", 1)
    return source.file
  end)
  record("PCM_Source_CreateFromFile", function(filename)
    check_type(filename, "string", "PCM_Source_CreateFromFile", 1)
    return source_from({ file = filename })
  end)
  -- Peaks: mode 0 begins (0: nothing to do), 1 runs (returns the percentage left), 2 ends.
  record("PCM_Source_BuildPeaks", function(source, mode)
    check(source, "PCM_source", "PCM_Source_BuildPeaks", 1)
    if mode == 0 then
      if source.peaks == "built" then return 0 end
      source.peaks, source.left = "building", 100
      return 1
    end
    if source.peaks ~= "building" then
      error("fake REAPER: PCM_Source_BuildPeaks mode " .. tostring(mode) .. " before mode 0", 2)
    end
    if mode == 1 then
      source.left = math.max(0, source.left - 40)
      return source.left
    end
    if mode ~= 2 or source.left > 0 then
      error("fake REAPER: PCM_Source_BuildPeaks mode 2 before mode 1 returned 0", 2)
    end
    source.peaks = "built"
    return 0
  end)
end

return media
