-- One hash slot's part of a batch, on a Redis Cluster: the content hashes of the slot, their
-- per-event de-duplication and their per-minute sums, with the slot's positions. Every key it
-- touches is declared and lies in the slot (content:{id}, and keys tagged {content:{id}} or with
-- the slot's own tag), so the cluster routes it whole, refuses it whole during a migration, and it
-- is atomic. Each event counts once: its id in the slot's seen set (SADD). The answer carries the
-- absolute totals the other slots' parts are derived from (the rank's and the minutes' scores),
-- also for events seen before: a part applied before a crash still yields them on the replay.
--
-- KEYS: meta, then the keys ARGV refers to by index
-- ARGV: 1 unused, nparts, (field, expected, next)*,
--       ncontent, (keyIndex, contentId, title, type, lengthSeconds)*,
--       nevents, (seenKeyIndex, member, contentIndex, typeIndex 1..4, durationMs, eventTsFixedMillis,
--                 hourKeyIndex or 0, minute or '', hourExpireAt)*,
--       npairs, (contentIndex, hourKeyIndex, minute)*
-- Returns: {'OK', applied, duplicates, ms of each content..., ms of each pair...} or REWIND.

local parts, behind, i = check_positions(2)
if behind then return behind end

local ncontent = tonumber(ARGV[i]); i = i + 1
local contents = {}
for c = 1, ncontent do
  contents[c] = {KEYS[tonumber(ARGV[i])], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], {0, 0, 0, 0, 0, 0, ''}}
  i = i + 5
end

local nevents = tonumber(ARGV[i]); i = i + 1
local applied, duplicates = 0, 0
local expiries = {}
for e = 1, nevents do
  local seen = KEYS[tonumber(ARGV[i])]
  local member = ARGV[i + 1]
  local c = tonumber(ARGV[i + 2])
  local t = tonumber(ARGV[i + 3])
  local ms = tonumber(ARGV[i + 4])
  local ts = ARGV[i + 5]
  local hour = tonumber(ARGV[i + 6])
  local minute = ARGV[i + 7]
  local expireAt = ARGV[i + 8]
  i = i + 9
  if redis.call('SADD', seen, member) == 1 then
    applied = applied + 1
    local a = contents[c][5]
    a[1] = a[1] + 1
    a[1 + t] = a[1 + t] + 1
    a[6] = a[6] + ms
    if ts > a[7] then a[7] = ts end
    if hour > 0 and ms > 0 then
      redis.call('HINCRBY', KEYS[hour], minute, ms)
      expiries[KEYS[hour]] = expireAt
    end
  else
    duplicates = duplicates + 1
  end
end

local out = {'OK', applied, duplicates}
for c = 1, ncontent do
  local meta, a = contents[c], contents[c][5]
  local key = meta[1]
  if a[1] > 0 then
    redis.call('HSET', key, 'title', meta[2], 'type', meta[3], 'length_seconds', meta[4])
    redis.call('HINCRBY', key, 'events', a[1])
    for t = 1, 4 do redis.call('HINCRBY', key, TYPES[t], a[1 + t]) end
    local ms = redis.call('HINCRBY', key, 'engagement_ms', a[6])
    redis.call('HSET', key, 'engagement_seconds', secs(ms))
    local last = redis.call('HGET', key, 'last_event_ts')
    if not last or a[7] > last then redis.call('HSET', key, 'last_event_ts', a[7]) end
  end
  out[#out + 1] = tonumber(redis.call('HGET', key, 'engagement_ms') or '0')
end
for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end

local npairs = tonumber(ARGV[i]); i = i + 1
for _ = 1, npairs do
  local hour, minute = tonumber(ARGV[i + 1]), ARGV[i + 2]
  i = i + 3
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[hour], minute) or '0')
end

advance_positions(parts)
return out
