-- The event's type record, KEYS[2]: the first claim of a delivery runs this before the claim
-- script proper (`claim_first`), so both happen in one atomic step. A standing record of
-- another type is a conflict and nothing is written; without one, the type is recorded as
-- completed, kept ARGV[5] ms.
local typed = redis.call('GET', KEYS[2])
local standing = nil
if typed then
  local kind = string.sub(typed, 1, 2)
  if kind == 'c|' then
    standing = string.match(typed, '^c||(.*)$')
  elseif kind == 'l|' then
    -- Left in progress by a two-step recording (`IdempotencyStore::claim_first`'s default)
    -- that has not completed it: it binds while its lease is live, as a claim's record does.
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local token, _, expires, recorded = string.match(typed, '^l|([^|]*)|(%d+)|(%d+)|(.*)$')
    if token and token ~= '' and tonumber(expires) > now then
      standing = recorded
    end
  elseif kind == 'p|' then
    standing = string.match(typed, '^p|[^|]*|(.*)$')
  end
end
if standing and standing ~= ARGV[2] then
  return {4, 0, standing}
end
if not standing then
  redis.call('SET', KEYS[2], 'c||' .. ARGV[2], 'PX', ARGV[5])
end
