-- @noindex
-- Paths and files for the Producer Bridge scripts, on Windows ("\") and POSIX ("/").

local files = {}

-- "\" on Windows, "/" elsewhere; `os_name` is what reaper.GetOS() returns.
function files.separator(os_name)
  return (os_name or ""):match("^Win") and "\\" or "/"
end

function files.is_absolute(path)
  return path:match("^/") ~= nil or path:match("^%a:[/\\]") ~= nil or path:match("^\\\\") ~= nil
end

-- `base` and the parts after it, joined with `sep` (default: the one `base` already uses).
function files.join(base, ...)
  local sep = base:match("\\") and not base:match("/") and "\\" or "/"
  local path = base
  for _, part in ipairs({ ... }) do
    if path == "" or path:match("[/\\]$") then
      path = path .. part
    else
      path = path .. sep .. part
    end
  end
  return path
end

-- The folder holding `path` ("" when it has none); a root keeps its separator.
function files.dirname(path)
  local trimmed = path:gsub("[/\\]+$", "")
  if trimmed == "" then return path:sub(1, 1) end
  local dir = trimmed:match("^(.*)[/\\]")
  if dir == nil then return "" end
  if dir == "" or dir:match("^%a:$") then return trimmed:sub(1, #dir + 1) end
  return dir
end

function files.basename(path)
  return (path:gsub("[/\\]+$", ""):match("([^/\\]*)$"))
end

-- A path relative with "/" (as in a manifest) made native under `base`.
function files.from_posix(base, relative)
  local sep = base:match("\\") and not base:match("/") and "\\" or "/"
  return files.join(base, (relative:gsub("/", sep)))
end

function files.exists(path)
  local handle = io.open(path, "rb")
  if handle then handle:close() return true end
  return false
end

-- The whole file, or nil and a message.
function files.read(path)
  local handle, err = io.open(path, "rb")
  if not handle then return nil, err end
  local text = handle:read("a")
  handle:close()
  return text
end

-- Writes `text` under a hidden temporary name next to `path` (the daemon ignores names
-- starting with "." and ending in ".tmp"), then renames it: a reader never sees a partial
-- file. An existing `path` is never replaced. Returns true, or nil and a message.
function files.write_atomic(path, text)
  if files.exists(path) then return nil, path .. " already exists" end
  local dir, name = files.dirname(path), files.basename(path)
  local temporary = dir == "" and ("." .. name .. ".tmp") or files.join(dir, "." .. name .. ".tmp")
  local handle, err = io.open(temporary, "wb")
  if not handle then return nil, "cannot write " .. temporary .. ": " .. tostring(err) end
  local ok, write_err = handle:write(text)
  if ok then ok, write_err = handle:flush() end
  handle:close()
  if not ok then
    os.remove(temporary)
    return nil, "cannot write " .. temporary .. ": " .. tostring(write_err)
  end
  local renamed, rename_err = os.rename(temporary, path)
  if not renamed then
    os.remove(temporary)
    return nil, "cannot rename " .. temporary .. " to " .. path .. ": " .. tostring(rename_err)
  end
  return true
end

return files
