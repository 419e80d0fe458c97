local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local token, n, expires, recorded = string.match(v, '^l|([^|]*)|(%d+)|(%d+)|(.*)$')
if token and token ~= '' and token == ARGV[1] and tonumber(expires) > now then
  redis.call('SET', KEYS[1], 'c||' .. recorded, 'PX', ARGV[2])
  return 1
end
return 0
