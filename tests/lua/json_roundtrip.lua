-- The JSON module both ways, for the Python tests.
--   lua5.4 json_roundtrip.lua decode FILE   decode FILE, encode it again, print it
--   lua5.4 json_roundtrip.lua encode        print the encoding of Lua values made here
--   lua5.4 json_roundtrip.lua errors FILE   one line per input line: the decode error

local HERE = arg[0]:match("^(.*[/\\])") or "./"
local json = dofile(HERE .. "../../reaper_scripts/ProducerBridge/json.lua")

local function read(path)
  local handle = assert(io.open(path, "rb"))
  local text = handle:read("a")
  handle:close()
  return text
end

if arg[1] == "decode" then
  print(json.encode(json.decode(read(arg[2]))))
elseif arg[1] == "encode" then
  print(json.encode({
    integer = 48000, float_integral = 30.0, tenth = 0.1, third = 1 / 3, negative = -2.5,
    tiny = 5e-324, huge = 1.7976931348623157e308, big_integer = math.maxinteger,
    text = "quote \" backslash \\ slash / tab \t newline \n bell \a del \127 é 🎵",
    empty_array = json.array(), empty_object = json.object(), null = json.null,
    yes = true, no = false, nested = { { 1, 2 }, { a = "b" } },
  }))
  for _, bad in ipairs({ 0 / 0, math.huge, -math.huge }) do
    print((select(2, pcall(json.encode, { value = bad }))))
  end
  print((select(2, pcall(json.encode, {}))))
  print((select(2, pcall(json.encode, "\255"))))
elseif arg[1] == "errors" then
  for line in read(arg[2]):gmatch("[^\n]+") do
    local ok, err = pcall(json.decode, line)
    print(ok and "ok" or err)
  end
end
