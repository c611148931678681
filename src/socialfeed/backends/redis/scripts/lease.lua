-- socialfeed: worker-id leases. KEYS[1]: the lease (holder, with a TTL), KEYS[2]: the last
-- millisecond minted under that worker id (kept without a TTL, for the next holder).
local op, holder = ARGV[1], ARGV[2]
local current = redis.call('GET', KEYS[1])
local function remember(last)
  local before = tonumber(redis.call('GET', KEYS[2]) or '-1')
  if last > before then redis.call('SET', KEYS[2], tostring(last)) end
end
if op == 'acquire' then
  local ttl = tonumber(ARGV[3])
  if current and current ~= holder then return { 0, current } end
  redis.call('SET', KEYS[1], holder, 'PX', ttl)
  return { 1, redis.call('GET', KEYS[2]) or '-1' }
elseif op == 'renew' then
  if current ~= holder then return 0 end
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  remember(tonumber(ARGV[4]))
  return 1
elseif op == 'release' then
  if current == holder then redis.call('DEL', KEYS[1]) end
  remember(tonumber(ARGV[3]))
  return 1
end
return redis.error_reply('socialfeed lease.lua: unknown operation ' .. tostring(op))
