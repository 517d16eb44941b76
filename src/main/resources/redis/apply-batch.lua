-- Applies one batch of enriched events to the live aggregates, atomically with the sink's Kafka
-- positions. Refuses the whole batch if another instance has claimed one of its partitions since
-- (FENCED), or if the stored position of a partition is not where the batch starts (REWIND: Redis
-- went back in time, e.g. restarted from an older snapshot; the sink reads again from the stored
-- position). Each event id counts once, ever: a bit per id in pipeline:seen:{id / 2^20}. The chunk
-- and the bit are computed by the sink from the 64-bit id (Lua numbers are doubles: ids above 2^53
-- would collide if the script did the division).
--
-- ARGV: nparts, (field, epoch, startOffset, nextOffset)*, nowIso,
--       ncontent, (contentId, title, type, lengthSeconds)*,
--       nminutes, (minute, expireAt)*,
--       nevents, (seenChunk, seenBit, contentIndex, typeIndex 1..4, durationMs, minuteIndex or 0, eventTsFixedMillis)*
local EPOCHS, OFFSETS = 'pipeline:redis:epochs', 'pipeline:redis:offsets'

local i = 1
local nparts = tonumber(ARGV[i]); i = i + 1
local parts = {}
for p = 1, nparts do
  local field, epoch = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', EPOCHS, field) ~= epoch then
    return {'FENCED', field}
  end
  parts[p] = {field, ARGV[i + 3], ARGV[i + 2]}
  i = i + 4
end
local behind = {'REWIND'}
for _, p in ipairs(parts) do
  local stored = redis.call('HGET', OFFSETS, p[1]) or '0'
  if stored ~= p[3] then
    behind[#behind + 1] = p[1]
    behind[#behind + 1] = stored
  end
end
if #behind > 1 then
  return behind
end
local nowIso = ARGV[i]; i = i + 1

local ncontent = tonumber(ARGV[i]); i = i + 1
local contents = {}
for c = 1, ncontent do
  contents[c] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]}
  i = i + 4
end

local nminutes = tonumber(ARGV[i]); i = i + 1
local minutes = {}
for m = 1, nminutes do
  minutes[m] = {ARGV[i], ARGV[i + 1], {}}
  i = i + 2
end

local nevents = tonumber(ARGV[i]); i = i + 1
local agg = {}
local total = {0, 0, 0, 0, 0, 0}
local applied, duplicates = 0, 0
for e = 1, nevents do
  local chunk = ARGV[i]
  local bit = tonumber(ARGV[i + 1])
  local c = tonumber(ARGV[i + 2])
  local t = tonumber(ARGV[i + 3])
  local ms = tonumber(ARGV[i + 4])
  local m = tonumber(ARGV[i + 5])
  local ts = ARGV[i + 6]
  i = i + 7
  if redis.call('SETBIT', 'pipeline:seen:' .. chunk, bit, 1) == 0 then
    applied = applied + 1
    local a = agg[c]
    if not a then a = {0, 0, 0, 0, 0, 0, ''}; agg[c] = a end
    a[1] = a[1] + 1
    a[1 + t] = a[1 + t] + 1
    a[6] = a[6] + ms
    if ts > a[7] then a[7] = ts end
    total[1] = total[1] + 1
    total[1 + t] = total[1 + t] + 1
    total[6] = total[6] + ms
    if m > 0 and ms > 0 then
      local per = minutes[m][3]
      per[c] = (per[c] or 0) + ms
    end
  else
    duplicates = duplicates + 1
  end
end

for c, a in pairs(agg) do
  local meta = contents[c]
  local key = 'content:' .. meta[1]
  redis.call('HSET', key, 'title', meta[2], 'type', meta[3], 'length_seconds', meta[4])
  redis.call('HINCRBY', key, 'events', a[1])
  for t = 1, 4 do redis.call('HINCRBY', key, TYPES[t], a[1 + t]) end
  local ms = redis.call('HINCRBY', key, 'engagement_ms', a[6])
  local s = secs(ms)
  redis.call('HSET', key, 'engagement_seconds', s)
  local last = redis.call('HGET', key, 'last_event_ts')
  if not last or a[7] > last then redis.call('HSET', key, 'last_event_ts', a[7]) end
  redis.call('ZADD', 'rank:engagement', s, meta[1])
end

for _, minute in ipairs(minutes) do
  local key = 'rank:engagement:' .. minute[1]
  local touched = false
  for c, ms in pairs(minute[3]) do
    local id = contents[c][1]
    local old = redis.call('ZSCORE', key, id)
    local before = 0
    if old then before = math.floor(tonumber(old) * 1000 + 0.5) end
    redis.call('ZADD', key, secs(before + ms), id)
    touched = true
  end
  if touched then redis.call('EXPIREAT', key, minute[2]) end
end

if applied > 0 then
  redis.call('HINCRBY', 'stats:global', 'events', total[1])
  for t = 1, 4 do redis.call('HINCRBY', 'stats:global', TYPES[t], total[1 + t]) end
  local ms = redis.call('HINCRBY', 'stats:global', 'engagement_ms', total[6])
  redis.call('HSET', 'stats:global', 'engagement_seconds', secs(ms))
end

for _, p in ipairs(parts) do
  redis.call('HSET', OFFSETS, p[1], p[2])
end
redis.call('SET', 'pipeline:redis:last_processed', nowIso)
return {'OK', applied, duplicates}
