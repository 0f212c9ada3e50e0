-- POST /v1/sightings with a batch of BENCH_BATCH new sightings per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local size = tonumber(os.getenv("BENCH_BATCH") or "500")

function request()
  local items = {}
  for i = 1, size do
    items[i] = item(next_n())
  end
  return wrk.format(nil, "/v1/sightings", nil, '{"sightings":[' .. table.concat(items, ",") .. "]}")
end
