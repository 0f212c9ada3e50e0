-- Loaded (dofile) by every benchmark script: the key, a per-thread request counter, sighting
-- bodies with URLs unique per run, thread and request, and a one-line JSON summary at the end
-- for bench/load.py. Settings come from the environment (BENCH_*), set by bench/load.py.

local run = os.getenv("BENCH_RUN") or "run"
local slugs = {}
for s in string.gmatch(os.getenv("BENCH_SLUGS") or "", "[^,]+") do
  slugs[#slugs + 1] = s
end
local started = os.time()
local quote = "Запад скрывает правду о том, что на самом деле происходит в этих лабораториях."
local threads = 0

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "")
tid = 0
counter = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function next_n()
  counter = counter + 1
  return counter
end

function slug(n)
  return slugs[1 + n % #slugs]
end

function run_id(n)
  return run .. "-" .. tid .. "-" .. n
end

function item(n)
  local id = run_id(n)
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", started - (n * 7919) % 31536000)
  return '{"narrative":"' .. slug(n) .. '","observed_at":"' .. at .. '",'
    .. '"url":"https://news.example.org/2025/' .. id .. '?utm_source=telegram&page=1",'
    .. '"source":{"name":"Channel ' .. (n % 50) .. '","kind":"channel"},'
    .. '"actor":{"name":"Maria Zakharova","role":"Spokesperson"},'
    .. '"quote":"' .. quote .. '","language":"ru","country":"RU",'
    .. '"external_id":"' .. id .. '","confidence":0.8}'
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
