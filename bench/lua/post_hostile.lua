-- POST /v1/sightings with a batch of 1,000 new sightings whose URLs are as costly to normalise
-- as the service's URL limits allow: the same four shapes as bench/hostile.py.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local size = 1000

local function hostile_url(id, n)
  local shape = n % 4
  if shape == 0 then
    return "https://news.example.org/" .. id .. "?" .. string.rep("%41%42=%43%2B%44&", 80) .. "z=1"
  elseif shape == 1 then
    -- U+2764 as UTF-8 bytes: LuaJIT has no \u{} escape
    local host = "h" .. n .. string.rep("я", 15) .. "." .. string.rep("я", 16) .. ".\226\157\164"
    return "https://" .. host .. "/" .. id .. "/" .. string.rep("%D1%8F", 120)
  elseif shape == 2 then
    return "https://news.example.org/" .. id .. "/" .. string.rep("%2B", 250) .. string.rep("/.", 300)
  end
  return "https://news.example.org/" .. id .. "#!" .. string.rep("%2B", 450)
end

function request()
  local items = {}
  for i = 1, size do
    local n = next_n()
    local id = run_id(n)
    local body = item(n)
    local url = hostile_url(id, n)
    -- a function, not a string: "%" in a replacement string is a capture reference
    items[i] = (body:gsub('"url":"[^"]*"', function() return '"url":"' .. url .. '"' end, 1))
  end
  return wrk.format(nil, "/v1/sightings", nil, '{"sightings":[' .. table.concat(items, ",") .. "]}")
end
