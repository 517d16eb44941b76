-- stats:global's part of a batch on a Redis Cluster, the last of a batch's parts: the global
-- counts, de-duplicated by a bit per event id in bitmaps tagged {stats:global}, and the positions
-- every slot has applied (KEYS[1]): a restart resumes from them.
-- KEYS: committed, stats:global, then the seen bitmaps ARGV refers to by index
-- ARGV: 1 unused, nparts, (field, expected, next)*, nevents, (seenKeyIndex, bit, typeIndex 1..4, durationMs)*

local parts, behind, i = check_positions(2)
if behind then return behind end
local nevents = tonumber(ARGV[i]); i = i + 1
local total = {0, 0, 0, 0, 0, 0}
for _ = 1, nevents do
  local seen, bit, t, ms = KEYS[tonumber(ARGV[i])], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  i = i + 4
  if redis.call('SETBIT', seen, bit, 1) == 0 then
    total[1] = total[1] + 1
    total[1 + t] = total[1 + t] + 1
    total[6] = total[6] + ms
  end
end
if total[1] > 0 then
  redis.call('HINCRBY', KEYS[2], 'events', total[1])
  for t = 1, 4 do redis.call('HINCRBY', KEYS[2], TYPES[t], total[1 + t]) end
  local ms = redis.call('HINCRBY', KEYS[2], 'engagement_ms', total[6])
  redis.call('HSET', KEYS[2], 'engagement_seconds', secs(ms))
end
advance_positions(parts)
return {'OK', total[1], nevents - total[1]}
