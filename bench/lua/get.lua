-- GET BENCH_PATH; a "{slug}" in it takes each narrative in turn.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = os.getenv("BENCH_PATH") or "/"

function request()
  local target = path:gsub("{slug}", slug(next_n()))
  return wrk.format("GET", target)
end
