-- @noindex
-- Adds every Producer Bridge action script in a folder to REAPER's Action list (the main
-- section), for an install made without ReaPack, and says which command id the import
-- script got (what the daemon's `reaper.import_action` wants).

local HERE = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local files = dofile(HERE .. "files.lua")

local install = {}

local MAIN_SECTION = 0
install.SELF = "ProducerBridge - Install actions.lua"
install.IMPORT = "ProducerBridge - Import results.lua"

-- The action scripts in `folder`, sorted, this one left out.
function install.scripts(folder)
  local names, i = {}, 0
  reaper.EnumerateFiles(folder, -1) -- read the folder again, not REAPER's cache of it
  while true do
    local name = reaper.EnumerateFiles(folder, i)
    if not name then break end
    if name:match("^ProducerBridge %- .+%.lua$") and name ~= install.SELF then
      names[#names + 1] = name
    end
    i = i + 1
  end
  table.sort(names)
  return names
end

-- Adds the scripts of `folder` and tells what was done. Returns the number added.
function install.run(lib, folder)
  local names = install.scripts(folder)
  if #names == 0 then
    lib.message("There are no Producer Bridge scripts in " .. folder .. ". Run "
      .. "`producer-bridge install reaper`, then run this action from the folder it names.")
    return 0
  end
  local added, failed, import_id = 0, {}, nil
  for i, name in ipairs(names) do
    local id = reaper.AddRemoveReaScript(true, MAIN_SECTION, files.join(folder, name), i == #names)
    if id == 0 then
      failed[#failed + 1] = name
    else
      added = added + 1
      if name == install.IMPORT then import_id = reaper.ReverseNamedCommandLookup(id) end
    end
  end
  local lines = { string.format("%d Producer Bridge action(s) are in the Action list.", added) }
  if import_id then
    lines[#lines + 1] = "To import results on their own, put this in the bridge's config:"
    lines[#lines + 1] = string.format('[reaper]\nimport_action = "_%s"', import_id)
  end
  if #failed > 0 then
    lines[#lines + 1] = "REAPER did not add: " .. table.concat(failed, ", ")
  end
  lib.message(table.concat(lines, "\n"))
  return added
end

return install
