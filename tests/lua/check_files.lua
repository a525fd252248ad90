-- Writes a file with files.write_atomic while recording every io.open and os.rename, and
-- prints the record as JSON: what a reader of the folder could have seen, and when.
--   lua5.4 check_files.lua PATH TEXT

local HERE = arg[0]:match("^(.*[/\\])") or "./"
local LIB = HERE .. "../../reaper_scripts/ProducerBridge/"
local json = dofile(LIB .. "json.lua")
local files = dofile(LIB .. "files.lua")

local log = json.array()
local real_open, real_rename = io.open, os.rename
io.open = function(path, mode)
  local handle, err = real_open(path, mode)
  log[#log + 1] = { op = "open", path = path, mode = mode or "r", ok = handle ~= nil }
  if not handle or not (mode or ""):match("w") then return handle, err end
  -- A proxy that records the close, so the log shows the file was complete before renaming.
  return setmetatable({}, { __index = {
    write = function(_, ...) return handle:write(...) and true or nil end,
    flush = function() return handle:flush() end,
    close = function()
      log[#log + 1] = { op = "close", path = path }
      return handle:close()
    end,
  } }), err
end
os.rename = function(from, to)
  local ok, err = real_rename(from, to)
  log[#log + 1] = { op = "rename", from = from, to = to, ok = ok == true }
  return ok, err
end

local ok, err = files.write_atomic(arg[1], arg[2])
io.open, os.rename = real_open, real_rename
print(json.encode({ ok = ok == true, error = err or json.null, log = log }))
