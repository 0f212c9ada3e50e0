-- POST /v1/match with the fixed texts of bench/match_texts.py, read from BENCH_BODIES (one JSON
-- body a line) when the script loads; each request sends the next, each thread starting
-- TEXT_STRIDE (37) bodies after the one before, as bench/bodies.py does.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  if line ~= "" then
    bodies[#bodies + 1] = line
  end
end

function request()
  local n = next_n()
  return wrk.format(nil, "/v1/match", nil, bodies[1 + (n - 1 + tid * 37) % #bodies])
end
