-- A sorted set's part of a batch on a Redis Cluster (rank:engagement, or one minute's
-- rank:engagement:{minute}): scores are absolute totals the content slots computed, set with GT
-- (totals only grow, so a replay or a late writer never lowers one), with the slot's positions.
-- KEYS: meta, the sorted set. ARGV: 1 expireAt (0: none), nparts, (field, expected, next)*, n, (member, seconds)*
local parts, behind, i = check_positions(2)
if behind then return behind end
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('ZADD', KEYS[2], 'GT', ARGV[i + 1], ARGV[i])
  i = i + 2
end
if tonumber(ARGV[1]) > 0 and n > 0 then redis.call('EXPIREAT', KEYS[2], ARGV[1]) end
advance_positions(parts)
return {'OK'}
