-- The fake REAPER's folders and Action list: RecursiveCreateDirectory, EnumerateFiles and
-- EnumerateSubdirectories on the real file system, and scripts added to the Action list.

return function(fake, state)
  local record, check_type = fake.record, fake.check_type

  record("RecursiveCreateDirectory", function(path, ignored)
    check_type(ignored, "number", "RecursiveCreateDirectory", 2)
    state.created_dirs[#state.created_dirs + 1] = path
    return os.execute("mkdir -p '" .. path:gsub("'", "'\\''") .. "'") and 1 or 0
  end)
  -- The folder's entries of one type ("d" folders, "f" files), sorted by name.
  local function listing(path, kind)
    local quoted = "'" .. path:gsub("'", "'\\''") .. "'"
    local found = io.popen("find " .. quoted .. " -mindepth 1 -maxdepth 1 -type " .. kind
      .. " | sort")
    local names = {}
    for line in found:lines() do names[#names + 1] = line:match("([^/]+)$") end
    found:close()
    return names
  end
  for name, kind in pairs({ EnumerateSubdirectories = "d", EnumerateFiles = "f" }) do
    record(name, function(path, index)
      check_type(path, "string", name, 1)
      if index < 0 then return nil end
      return listing(path, kind)[index + 1]
    end)
  end
  -- The Action list: scripts added with AddRemoveReaScript get command ids from 50000 on.
  state.registered = {}
  record("AddRemoveReaScript", function(add, section, path, commit)
    check_type(add, "boolean", "AddRemoveReaScript", 1)
    check_type(section, "number", "AddRemoveReaScript", 2)
    check_type(commit, "boolean", "AddRemoveReaScript", 4)
    local handle = add and io.open(path, "rb")
    if not handle then return 0 end
    handle:close()
    state.registered[#state.registered + 1] = { path = path, section = section, commit = commit }
    return 50000 + #state.registered
  end)
  record("ReverseNamedCommandLookup", function(id)
    check_type(id, "number", "ReverseNamedCommandLookup", 1)
    if id < 50001 or id > 50000 + #state.registered then return nil end
    return string.format("RS%040x", id)
  end)
end
