-- POST /v1/sightings with one new sighting per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  return wrk.format(nil, "/v1/sightings", nil, item(next_n()))
end
