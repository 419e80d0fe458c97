-- wrk script: replays pre-signed PaymentKit deliveries written by `sign_requests`, one per line
-- (`<X-Webhook-Signature value>\t<body>`), cycling through the file. Used by benches/http_load.sh.
--
--   wrk -t1 -c50 -d5s -s benches/http/signed.lua http://127.0.0.1:3000 -- requests.tsv /webhooks/paymentkit
--
-- Requests are formatted once, in init, so the load generator does no per-request work beyond
-- picking the next one. Once every line has been sent the file starts again: later requests are
-- duplicates of delivered events, which `done` reports.

local requests = {}
-- Globals, so `done` can read them from the threads with thread:get.
count = 0
sent = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local path = args[2] or "/webhooks/paymentkit"
  for line in io.lines(file) do
    local tab = line:find("\t", 1, true)
    if tab then
      count = count + 1
      requests[count] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-Webhook-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
  end
  if count == 0 then
    error("no requests in " .. tostring(file))
  end
end

function request()
  local index = sent % count + 1
  sent = sent + 1
  return requests[index]
end

function done(summary, latency, requests)
  local distinct, total = 0, 0
  for _, thread in ipairs(threads) do
    distinct = distinct + thread:get("count")
    total = total + thread:get("sent")
  end
  local replays = total - distinct
  if replays < 0 then replays = 0 end
  io.write(string.format("distinct events: %d, requests sent: %d, replays of sent events: %d\n",
    distinct, total, replays))
end
