-- @noindex
-- A small window listing the daemon's jobs, read from <drop>/status.json, which
-- `producer-bridge serve` rewrites (whole, by rename) while it runs:
--   {"schemaVersion": 1, "updatedAt": ISO, "daemon": {"running", "pid", "service"},
--    "jobs": [{"id", "action", "status", "step", "fraction", "project", "title", "error",
--              "updatedAt"}]}   (newest first)

local HERE = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local json = dofile(HERE .. "json.lua")
local files = dofile(HERE .. "files.lua")

local monitor = {}

local REREAD_SECONDS = 0.5
local MAX_JOBS = 12
local COLOURS = {
  completed = { 0.45, 0.85, 0.45 }, failed = { 0.95, 0.4, 0.4 },
  needs_attention = { 0.95, 0.75, 0.3 }, cancelled = { 0.6, 0.6, 0.6 },
}
local TEXT = { 0.9, 0.9, 0.9 }

local function text_of(v)
  if v == nil or v == json.null then return "" end
  return tostring(v)
end

-- The lines to show for the status file at `path`: {text, colour}.
function monitor.lines(path)
  local raw = files.read(path)
  if not raw then
    return { { "No status yet at " .. path .. ".", TEXT },
      { "Start `producer-bridge serve`, or check the drop folder in Settings.", TEXT } }
  end
  local ok, doc = pcall(json.decode, raw)
  if not ok or type(doc) ~= "table" or doc.schemaVersion ~= 1 then
    return { { "Cannot read " .. path .. " (not a version 1 status file).", COLOURS.failed } }
  end
  local daemon = type(doc.daemon) == "table" and doc.daemon or {}
  local state = daemon.running == false and "stopped" or "running"
  local service = text_of(daemon.service)
  local lines = { { string.format("Daemon %s%s, updated %s", state,
    service ~= "" and (" (" .. service .. ")") or "", text_of(doc.updatedAt)), TEXT } }
  local jobs = type(doc.jobs) == "table" and doc.jobs or {}
  if #jobs == 0 then lines[#lines + 1] = { "No jobs.", TEXT } end
  for i = 1, math.min(#jobs, MAX_JOBS) do
    local job = jobs[i]
    local fraction = tonumber(job.fraction) or 0
    local title = text_of(job.title)
    lines[#lines + 1] = {
      string.format("%s  %-17s %-15s %3d%%  %s%s", text_of(job.id):sub(1, 8), text_of(job.action),
        text_of(job.status), math.floor(fraction * 100 + 0.5), text_of(job.step),
        title ~= "" and ("  " .. title) or ""),
      COLOURS[job.status] or TEXT,
    }
    if text_of(job.error) ~= "" then
      lines[#lines + 1] = { "          " .. text_of(job.error), COLOURS.failed }
    end
  end
  return lines
end

-- Opens the window and redraws it until it is closed (or Esc is pressed).
function monitor.run(lib)
  local path = files.join(lib.drop_folder(), "status.json")
  gfx.init(lib.TITLE .. ": jobs", 640, 300)
  gfx.setfont(1, "Arial", 15)
  local lines, read_at = nil, nil
  local function frame()
    local char = gfx.getchar()
    if char < 0 or char == 27 then
      gfx.quit()
      return
    end
    local now = reaper.time_precise()
    if not read_at or now - read_at >= REREAD_SECONDS then
      lines, read_at = monitor.lines(path), now
    end
    for i, line in ipairs(lines) do
      gfx.set(line[2][1], line[2][2], line[2][3], 1)
      gfx.x, gfx.y = 10, 10 + (i - 1) * 20
      gfx.drawstr(line[1])
    end
    gfx.update()
    reaper.defer(frame)
  end
  frame()
end

return monitor
