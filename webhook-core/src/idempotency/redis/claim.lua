local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local attempts = 1
local v = redis.call('GET', KEYS[1])
if v then
  local state = string.sub(v, 1, 2)
  if state == 'l|' then
    local token, n, expires, recorded = string.match(v, '^l|([^|]*)|(%d+)|(%d+)|(.*)$')
    if not token then
      return {0, 0, ''}
    end
    if token == ARGV[1] then
      return {1, tonumber(n), ''}
    end
    if token ~= '' and tonumber(expires) > now then
      if recorded ~= ARGV[2] then
        return {4, 0, recorded}
      end
      return {2, tonumber(expires) - now, ''}
    end
    attempts = tonumber(n) + 1
  elseif state == 'c|' then
    local recorded = string.match(v, '^c||(.*)$')
    if not recorded then
      return {0, 0, ''}
    end
    if recorded ~= ARGV[2] then
      return {4, 0, recorded}
    end
    return {3, 0, ''}
  elseif state == 'p|' then
    local recorded = string.match(v, '^p|[^|]*|(.*)$')
    if not recorded then
      return {0, 0, ''}
    end
    if recorded ~= ARGV[2] then
      return {4, 0, recorded}
    end
    return {2, redis.call('PTTL', KEYS[1]), ''}
  else
    return {0, 0, ''}
  end
end
local lease = tonumber(ARGV[3])
redis.call('SET', KEYS[1],
  string.format('l|%s|%d|%d|%s', ARGV[1], attempts, now + lease, ARGV[2]),
  'PX', string.format('%d', lease + tonumber(ARGV[4])))
return {1, attempts, ''}
