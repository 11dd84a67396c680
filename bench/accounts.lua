-- wrk script for bench/load.sh: GET /accounts/<id> over the 100 seeded accounts (10000..10099), in turn.
--
-- The requests are formatted once in init() so that request() only hands back a prepared string: the load
-- generator should spend its core on sockets, not on building requests, or it would cap the throughput that is
-- being measured. One request per call keeps wrk at one request in flight per connection (no pipelining).
--
-- done() prints one machine-readable line that load.sh parses; wrk's own report stays above it for people.

local first_id = 10000
local accounts = 100

local prepared = {}
local next_index = 0

function init(args)
   for i = 0, accounts - 1 do
      prepared[i] = wrk.format("GET", "/accounts/" .. (first_id + i))
   end
end

function request()
   local req = prepared[next_index]
   next_index = (next_index + 1) % accounts
   return req
end

-- summary.requests counts completed responses; latency values are microseconds.
function done(summary, latency, requests)
   local errors = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "LOADBENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d"
         .. " connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, summary.requests / seconds,
      latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
