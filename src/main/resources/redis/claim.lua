-- Claims partitions for a new owner: bumps each partition's epoch (fencing the previous owner's
-- writes) and returns, per partition, the new epoch and the stored next offset (-1 if none).
-- Refuses state that was built from another input topic (a different Kafka topic id).
-- ARGV: sourceTopicId, storeId, field*
local source = ARGV[1]
local stored = redis.call('GET', 'pipeline:redis:source')
if stored and stored ~= source then
  return {'FOREIGN', stored}
end
if not stored then
  redis.call('SET', 'pipeline:redis:source', source)
end
redis.call('SET', 'pipeline:redis:store', ARGV[2], 'NX')
local out = {'OK'}
for i = 3, #ARGV do
  local field = ARGV[i]
  out[#out + 1] = redis.call('HINCRBY', 'pipeline:redis:epochs', field, 1)
  out[#out + 1] = tonumber(redis.call('HGET', 'pipeline:redis:offsets', field) or '-1')
end
return out
