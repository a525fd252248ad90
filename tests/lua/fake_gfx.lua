-- The fake `gfx` for the monitor's window: scripted key presses (`chars`, one per frame;
-- past their end the window counts as closed) and every string drawn, by frame.

return function(state, chars, check_type)
  local g = { x = 0, y = 0, w = 0, h = 0 }
  local function draw(name, fn)
    g[name] = function(...)
      state.calls[#state.calls + 1] = { name = "gfx." .. name, args = table.pack(...) }
      return fn(...)
    end
  end
  draw("init", function(name, width, height)
    g.w, g.h, state.window = width or 0, height or 0, name
    return 1
  end)
  draw("getchar", function()
    state.frame = state.frame + 1
    local c = chars[state.frame]
    if c == nil then return -1 end -- the window was closed
    return c
  end)
  draw("set", function() end)
  draw("setfont", function() end)
  draw("drawstr", function(text)
    check_type(text, "string", "gfx.drawstr", 1)
    state.drawn[state.frame] = state.drawn[state.frame] or {}
    table.insert(state.drawn[state.frame], text)
  end)
  draw("update", function() end)
  draw("quit", function() state.window_closed = true end)
  return g
end
