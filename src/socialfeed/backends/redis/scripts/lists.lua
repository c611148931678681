-- socialfeed: packed id lists.
--
-- A list is one Redis string: an 8-byte big-endian floor, then 8-byte big-endian tweet ids,
-- newest first. Lua numbers are doubles, so a 64-bit id is handled as two 32-bit halves.
-- ARGV[1] names the operation; every key in KEYS is a list (except for "touch").
local BUILDING_HI = 2147483648 -- floor 2**63 = 0x80000000_00000000
local sunpack = struct.unpack
local sub = string.sub

local function at(s, i) -- the i-th (0-based) entry of a packed value, after its header
  return sunpack('>I4I4', s, 9 + 8 * i)
end

local function gt(ah, al, bh, bl)
  return ah > bh or (ah == bh and al > bl)
end

-- first index j in [lo, n) whose entry is <= (xh, xl), or n (entries are newest first)
local function search(s, lo, n, xh, xl)
  local hi = n
  while lo < hi do
    local m = math.floor((lo + hi) / 2)
    local eh, el = at(s, m)
    if gt(eh, el, xh, xl) then lo = m + 1 else hi = m end
  end
  return lo
end

-- first index whose entry is < (xh, xl)
local function search_below(s, n, xh, xl)
  local lo, hi = 0, n
  while lo < hi do
    local m = math.floor((lo + hi) / 2)
    local eh, el = at(s, m)
    if gt(xh, xl, eh, el) then hi = m else lo = m + 1 end
  end
  return lo
end

-- How many of the packed, newest-first ids (k of them) are at or above the floor (fh, fl).
local function at_or_above(ids, k, fh, fl)
  if k == 0 then return 0 end
  local oh, ol = sunpack('>I4I4', ids, 8 * k - 7)
  if not gt(fh, fl, oh, ol) then return k end -- the oldest passes: all do
  local lo, hi = 0, k
  while lo < hi do
    local m = math.floor((lo + hi) / 2)
    local xh, xl = sunpack('>I4I4', ids, 1 + 8 * m)
    if gt(fh, fl, xh, xl) then hi = m else lo = m + 1 end
  end
  return lo
end

-- Union the packed, newest-first, distinct ids into value v; keep the newest maxlen entries.
-- Unless everything is true or the list is being rebuilt, ids below the floor are skipped.
-- Returns the new value, whether it changed, and its entry count; trimming raises the floor
-- (unless BUILDING).
local function add(v, ids, maxlen, everything)
  local n = (#v - 8) / 8
  local fh, fl = sunpack('>I4I4', v, 1)
  local building = fh == BUILDING_HI and fl == 0
  local k = #ids / 8
  if not (everything or building) then k = at_or_above(ids, k, fh, fl) end
  local body
  local count
  local newest_h, newest_l = 0, 0
  if n > 0 then newest_h, newest_l = at(v, 0) end
  local oldest_h, oldest_l = 0, 0
  if k > 0 then oldest_h, oldest_l = sunpack('>I4I4', ids, 8 * k - 7) end
  if k > 0 and (n == 0 or gt(oldest_h, oldest_l, newest_h, newest_l)) then
    -- the usual fan-out insert: every new id is newer than the whole list. It goes in front with
    -- no search, and the new value is built with one concatenation of what survives the trim.
    local take = math.min(k, maxlen)
    local keep = math.max(0, math.min(n, maxlen - k))
    local header = sub(v, 1, 8)
    if n + k > maxlen and not building and maxlen > 0 then -- raise the floor to the oldest kept
      local last
      if keep > 0 then
        last = sub(v, 1 + 8 * keep, 8 + 8 * keep)
      else
        last = sub(ids, 8 * take - 7, 8 * take)
      end
      local lh, ll = sunpack('>I4I4', last, 1)
      if gt(lh, ll, fh, fl) then header = last end
    end
    return header .. sub(ids, 1, 8 * take) .. sub(v, 9, 8 + 8 * keep), true, take + keep
  else
    local pieces = {}
    local prev = 9
    local added = 0
    local lo = 0
    for a = 0, k - 1 do
      local xh, xl = sunpack('>I4I4', ids, 1 + 8 * a)
      lo = search(v, lo, n, xh, xl)
      local dup = false
      if lo < n then
        local eh, el = at(v, lo)
        dup = eh == xh and el == xl
      end
      if not dup then
        pieces[#pieces + 1] = sub(v, prev, 8 + 8 * lo)
        pieces[#pieces + 1] = sub(ids, 1 + 8 * a, 8 + 8 * a)
        prev = 9 + 8 * lo
        added = added + 1
      end
    end
    count = n + added
    if added == 0 and count <= maxlen then
      return v, false, count
    end
    pieces[#pieces + 1] = sub(v, prev)
    body = table.concat(pieces)
    if count > maxlen then body = sub(body, 1, 8 * maxlen) end
  end
  local header = sub(v, 1, 8)
  if count > maxlen then
    count = maxlen
    if not building and maxlen > 0 then
      local last = sub(body, 8 * maxlen - 7, 8 * maxlen)
      local lh, ll = sunpack('>I4I4', last, 1)
      if gt(lh, ll, fh, fl) then header = last end
    end
  end
  return header .. body, true, count
end

local function op_insert(ids, maxlen)
  for i = 1, #KEYS do
    local v = redis.call('GET', KEYS[i])
    if v then
      local nv, changed = add(v, ids, maxlen, false)
      if changed then redis.call('SET', KEYS[i], nv, 'KEEPTTL') end
    end
  end
  return #KEYS
end

local function op_remove(ids)
  local k = #ids / 8
  for i = 1, #KEYS do
    local v = redis.call('GET', KEYS[i])
    if v then
      local n = (#v - 8) / 8
      local pieces = { sub(v, 1, 8) }
      local prev = 9
      local removed = 0
      local lo = 0
      for a = 0, k - 1 do
        local xh, xl = sunpack('>I4I4', ids, 1 + 8 * a)
        lo = search(v, lo, n, xh, xl)
        if lo < n then
          local eh, el = at(v, lo)
          if eh == xh and el == xl then
            pieces[#pieces + 1] = sub(v, prev, 8 + 8 * lo)
            prev = 9 + 8 * (lo + 1)
            removed = removed + 1
          end
        end
      end
      if removed > 0 then
        pieces[#pieces + 1] = sub(v, prev)
        redis.call('SET', KEYS[i], table.concat(pieces), 'KEEPTTL')
      end
    end
  end
  return #KEYS
end

local function op_merge(ids, maxlen, floor, ttl)
  local v = redis.call('GET', KEYS[1]) or '\128\0\0\0\0\0\0\0'
  local nv, _, count = add(v, ids, maxlen, true)
  local header = floor
  if count >= maxlen and count > 0 then
    local last = sub(nv, 8 * count + 1, 8 * count + 8)
    local lh, ll = sunpack('>I4I4', last, 1)
    local fh, fl = sunpack('>I4I4', floor, 1)
    if gt(lh, ll, fh, fl) then header = last end
  end
  nv = header .. sub(nv, 9)
  if ttl > 0 then
    redis.call('SET', KEYS[1], nv, 'PX', ttl)
  else
    redis.call('SET', KEYS[1], nv)
  end
  return count
end

-- {header, entries below `before` and at or above the floor, at most limit}, or false
local function read(v, before, limit)
  if not v or v == '' then return false end
  local n = (#v - 8) / 8
  local fh, fl = sunpack('>I4I4', v, 1)
  if fh == BUILDING_HI and fl == 0 then return { sub(v, 1, 8), '' } end
  local start = 0
  if before then
    local bh, bl = sunpack('>I4I4', before, 1)
    start = search_below(v, n, bh, bl) -- first entry < before
  end
  local stop = math.min(n, start + limit)
  if fh ~= 0 or fl ~= 0 then
    local lo, hi = start, stop -- first index in [start, stop) whose entry is < floor
    while lo < hi do
      local m = math.floor((lo + hi) / 2)
      local eh, el = at(v, m)
      if gt(fh, fl, eh, el) then hi = m else lo = m + 1 end
    end
    stop = lo
  end
  if stop <= start then return { sub(v, 1, 8), '' } end
  return { sub(v, 1, 8), sub(v, 9 + 8 * start, 8 + 8 * stop) }
end

-- the hot bodies (false where not cached) of the packed entries of s, under tweet_prefix:
-- keys that are not in KEYS, so only ever asked of one server
local function bodies(tweet_prefix, s)
  local keys = {}
  for i = 0, #s / 8 - 1 do
    keys[i + 1] = tweet_prefix .. string.format('%08x%08x', sunpack('>I4I4', s, 1 + 8 * i))
  end
  if #keys == 0 then return {} end
  return redis.call('MGET', unpack(keys))
end

-- one read result per key; with a hot-tweet key prefix, each with the bodies of its entries
local function op_read(before, limit, tweet_prefix)
  local b = false
  if before ~= '' then b = before end
  local out = {}
  for i = 1, #KEYS do
    out[i] = read(redis.call('GET', KEYS[i]), b, limit)
    if tweet_prefix and out[i] then out[i][3] = bodies(tweet_prefix, out[i][2]) end
  end
  return out
end

-- the first 8 + 8 * n bytes (header and first n entries) of each list from KEYS[first] on,
-- '' where it is missing
local function op_heads(n, first)
  local out = {}
  for i = first, #KEYS do
    out[i - first + 1] = redis.call('GETRANGE', KEYS[i], 0, 8 + 8 * n - 1)
  end
  return out
end

-- the packed ids of the newest n distinct entries of several heads (header, then newest-first
-- entries; the first is the feed's), leaving out heads missing or being rebuilt. Once the feed
-- holds n entries, a list whose newest entry is not above the feed's n-th cannot contribute;
-- the others are merged through a max-heap of their next entries.
local function newest(heads, n)
  local lists, pos, hs, ls = {}, {}, {}, {}
  local th, tl = -1, -1 -- below this (the feed's n-th entry), nothing can make the page
  for i, h in ipairs(heads) do
    if #h >= 16 then
      local fh, fl = sunpack('>I4I4', h, 1)
      local eh, el = sunpack('>I4I4', h, 9)
      if not (fh == BUILDING_HI and fl == 0) and (i == 1 or gt(eh, el, th, tl)) then
        local k = #lists + 1
        lists[k], pos[k], hs[k], ls[k] = h, 9, eh, el
        if i == 1 and #h >= 8 + 8 * n then th, tl = sunpack('>I4I4', h, 1 + 8 * n) end
      end
    end
  end
  if #lists == 1 then return sub(lists[1], 9, 8 + 8 * n) end
  local heap, size = {}, #lists
  local function down(i)
    while true do
      local top, l, r = i, 2 * i, 2 * i + 1
      if l <= size and gt(hs[heap[l]], ls[heap[l]], hs[heap[top]], ls[heap[top]]) then top = l end
      if r <= size and gt(hs[heap[r]], ls[heap[r]], hs[heap[top]], ls[heap[top]]) then top = r end
      if top == i then return end
      heap[i], heap[top] = heap[top], heap[i]
      i = top
    end
  end
  for k = 1, size do heap[k] = k end
  for k = math.floor(size / 2), 1, -1 do down(k) end
  local out = {}
  local lh, ll = -1, -1
  while #out < n and size > 0 do
    local k = heap[1]
    local h, p = lists[k], pos[k]
    if hs[k] ~= lh or ls[k] ~= ll then
      out[#out + 1] = sub(h, p, p + 7)
      lh, ll = hs[k], ls[k]
    end
    pos[k] = p + 8
    if p + 15 <= #h then
      hs[k], ls[k] = sunpack('>I4I4', h, p + 8)
    else
      heap[1] = heap[size]
      size = size - 1
    end
    down(1)
  end
  return table.concat(out)
end

-- KEYS: seen, feed, then any celebrity lists to read along. Record the visit, refresh the
-- feed's ttl and return the previous visit and, when n >= 0, the feed's header and first n
-- entries (the caller drops those below the floor), the packed ids and hot bodies (false where
-- not cached) of the newest n entries of the feed and those lists (with a hot-tweet key prefix,
-- on one server only: those keys are not in KEYS; otherwise '' and none), and the header and
-- first n entries of the feed and each of those lists.
local function op_touch(now, seen_ttl, ttl, n, tweet_prefix)
  local prev = redis.call('GET', KEYS[1])
  if seen_ttl > 0 then
    redis.call('SET', KEYS[1], now, 'PX', seen_ttl)
  else
    redis.call('SET', KEYS[1], now)
  end
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  if n < 0 then return { prev } end
  local heads = op_heads(n, 2)
  local ids, found = '', {}
  if tweet_prefix and tweet_prefix ~= '' then
    ids = newest(heads, n)
    found = bodies(tweet_prefix, ids)
  end
  return { prev, ids, found, heads }
end

local op = ARGV[1]
if op == 'insert' then
  return op_insert(ARGV[2], tonumber(ARGV[3]))
elseif op == 'remove' then
  return op_remove(ARGV[2])
elseif op == 'merge' then
  return op_merge(ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]))
elseif op == 'read' then
  return op_read(ARGV[2], tonumber(ARGV[3]), ARGV[4])
elseif op == 'heads' then
  return op_heads(tonumber(ARGV[2]), 1)
elseif op == 'touch' then
  return op_touch(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
end
return redis.error_reply('socialfeed lists.lua: unknown operation ' .. tostring(op))
