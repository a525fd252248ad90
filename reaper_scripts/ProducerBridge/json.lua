-- @noindex
-- JSON for the Producer Bridge scripts: a small encoder and decoder, written for them.
--
-- Encoding: objects get their keys sorted, so the same table always gives the same text.
-- A table with the keys 1..n is an array; an empty table is ambiguous, so the caller marks
-- it with json.array{} or json.object{}. json.null stands for null. Integers are written
-- without ".0"; other numbers with the fewest digits that read back to the same value.
-- NaN and infinities have no JSON form and are refused.
-- Decoding: all of JSON, with \uXXXX escapes and surrogate pairs turned into UTF-8. Arrays
-- and objects come back marked, so an empty one is encoded again as what it was. Errors
-- name the byte position.

local json = {}

local ARRAY = { __name = "json.array" }
local OBJECT = { __name = "json.object" }
json.null = setmetatable({}, { __name = "json.null", __tostring = function() return "null" end })

function json.array(t) return setmetatable(t or {}, ARRAY) end
function json.object(t) return setmetatable(t or {}, OBJECT) end
function json.is_array(t) return getmetatable(t) == ARRAY end

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function encode_string(s)
  local valid, bad = utf8.len(s)
  if not valid then error("json: string is not valid UTF-8 (byte " .. bad .. ")", 0) end
  return '"' .. s:gsub('[\0-\31"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode_number(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error("json: " .. tostring(n) .. " has no JSON form", 0)
  end
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then
    return string.format("%d", math.tointeger(n) or n) -- 30.0 is written 30
  end
  for digits = 15, 17 do -- the shortest text that reads back as the same double
    local text = string.format("%." .. digits .. "g", n)
    if tonumber(text) == n then return text end
  end
  return string.format("%.17g", n)
end

-- "array" or "object" for a table, or an error saying why it is neither.
local function table_kind(t)
  local mark = getmetatable(t)
  if mark == ARRAY then return "array" end
  if mark == OBJECT then return "object" end
  local count, strings = 0, 0
  for k in pairs(t) do
    count = count + 1
    if type(k) == "string" then strings = strings + 1 end
  end
  if count == 0 then
    error("json: an empty table is ambiguous: use json.array{} or json.object{}", 0)
  end
  if strings == count then return "object" end
  if strings == 0 then
    for i = 1, count do
      if t[i] == nil then error("json: array with holes or non-integer keys", 0) end
    end
    return "array"
  end
  error("json: table mixes string and other keys", 0)
end

local encode_value

local function encode_table(t, seen)
  if seen[t] then error("json: table contains itself", 0) end
  seen[t] = true
  local parts = {}
  local out
  if table_kind(t) == "array" then
    for i = 1, #t do parts[i] = encode_value(t[i], seen) end
    out = "[" .. table.concat(parts, ",") .. "]"
  else
    local keys = {}
    for k in pairs(t) do
      if type(k) ~= "string" then
        error("json: object key " .. tostring(k) .. " is not a string", 0)
      end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    for i, k in ipairs(keys) do parts[i] = encode_string(k) .. ":" .. encode_value(t[k], seen) end
    out = "{" .. table.concat(parts, ",") .. "}"
  end
  seen[t] = nil
  return out
end

encode_value = function(v, seen)
  local kind = type(v)
  if v == json.null then return "null" end
  if kind == "string" then return encode_string(v) end
  if kind == "number" then return encode_number(v) end
  if kind == "boolean" then return tostring(v) end
  if kind == "table" then return encode_table(v, seen) end
  error("json: cannot encode a " .. kind, 0)
end

-- JSON text for `value`; raises an error naming the problem when it has none.
function json.encode(value) return encode_value(value, {}) end

---------------------------------------------------------------------------- decoding

local Decoder = {}
Decoder.__index = Decoder

function Decoder:fail(message, at)
  error(string.format("json: %s at position %d", message, at or self.pos), 0)
end

function Decoder:skip_space()
  self.pos = self.text:find("[^ \t\r\n]", self.pos) or (#self.text + 1)
end

function Decoder:peek() return self.text:sub(self.pos, self.pos) end

function Decoder:literal(word, value)
  if self.text:sub(self.pos, self.pos + #word - 1) ~= word then
    self:fail("unexpected character")
  end
  self.pos = self.pos + #word
  return value
end

function Decoder:number()
  local start, text = self.pos, self.text
  local stop = text:match("^-?()", start)
  local digits = text:match("^%d+()", stop)
  if not digits then self:fail("malformed number", start) end
  if text:sub(stop, stop) == "0" and digits > stop + 1 then self:fail("leading zero", start) end
  local float = false
  if text:sub(digits, digits) == "." then
    local frac = text:match("^%d+()", digits + 1)
    if not frac then self:fail("malformed number", start) end
    digits, float = frac, true
  end
  if text:find("^[eE]", digits) then
    local exp = text:match("^[eE][-+]?%d+()", digits)
    if not exp then self:fail("malformed number", start) end
    digits, float = exp, true
  end
  self.pos = digits
  local raw = text:sub(start, digits - 1)
  if not float then
    local int = math.tointeger(tonumber(raw))
    if int then return int end
  end
  return tonumber(raw) + 0.0
end

function Decoder:codepoint(at)
  local hex = self.text:match("^%x%x%x%x", at)
  if not hex then self:fail("bad \\u escape", at - 2) end
  return tonumber(hex, 16)
end

local SIMPLE = {
  ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
}

function Decoder:string()
  local text, pos, parts = self.text, self.pos + 1, {}
  while true do
    local stop = text:find('["\\\0-\31]', pos)
    if not stop then self:fail("unterminated string") end
    parts[#parts + 1] = text:sub(pos, stop - 1)
    local c = text:sub(stop, stop)
    if c == '"' then
      self.pos = stop + 1
      local s = table.concat(parts)
      if not utf8.len(s) then self:fail("string is not valid UTF-8") end
      return s
    elseif c == "\\" then
      local e = text:sub(stop + 1, stop + 1)
      if SIMPLE[e] then
        parts[#parts + 1], pos = SIMPLE[e], stop + 2
      elseif e == "u" then
        local cp = self:codepoint(stop + 2)
        pos = stop + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          if text:sub(pos, pos + 1) ~= "\\u" then self:fail("lone high surrogate", stop) end
          local low = self:codepoint(pos + 2)
          if low < 0xDC00 or low > 0xDFFF then self:fail("bad low surrogate", pos) end
          cp, pos = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00), pos + 6
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          self:fail("lone low surrogate", stop)
        end
        parts[#parts + 1] = utf8.char(cp)
      else
        self:fail("bad escape", stop)
      end
    else
      self:fail("control character in string", stop)
    end
  end
end

function Decoder:collection(close, read_entry, result)
  self.depth = self.depth + 1
  if self.depth > 200 then self:fail("nesting too deep") end
  self.pos = self.pos + 1
  self:skip_space()
  if self:peek() == close then
    self.pos = self.pos + 1
  else
    while true do
      read_entry()
      self:skip_space()
      local c = self:peek()
      self.pos = self.pos + 1
      if c == close then break end
      if c ~= "," then self:fail("expected ',' or '" .. close .. "'", self.pos - 1) end
    end
  end
  self.depth = self.depth - 1
  return result
end

function Decoder:value()
  self:skip_space()
  local c = self:peek()
  if c == "{" then
    local obj = json.object()
    return self:collection("}", function()
      self:skip_space()
      if self:peek() ~= '"' then self:fail("expected a string key") end
      local key = self:string()
      self:skip_space()
      if self:peek() ~= ":" then self:fail("expected ':'") end
      self.pos = self.pos + 1
      obj[key] = self:value()
    end, obj)
  elseif c == "[" then
    local arr = json.array()
    return self:collection("]", function() arr[#arr + 1] = self:value() end, arr)
  elseif c == '"' then
    return self:string()
  elseif c == "t" then
    return self:literal("true", true)
  elseif c == "f" then
    return self:literal("false", false)
  elseif c == "n" then
    return self:literal("null", json.null)
  elseif c == "-" or c:match("%d") then
    return self:number()
  elseif c == "" then
    self:fail("unexpected end of text")
  end
  self:fail("unexpected character")
end

-- The value `text` holds; raises "json: <what> at position <n>" when it is not JSON.
function json.decode(text)
  if type(text) ~= "string" then error("json: can only decode a string", 0) end
  local decoder = setmetatable({ text = text, pos = 1, depth = 0 }, Decoder)
  local value = decoder:value()
  decoder:skip_space()
  if decoder.pos <= #text then decoder:fail("trailing characters") end
  return value
end

return json
