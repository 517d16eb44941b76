-- Claims partitions for a new owner: bumps each partition's epoch (fencing the previous owner's
-- writes) and returns, per partition, the new epoch and the stored next offset (-1 if none).
-- ARGV: field*
local out = {}
for _, field in ipairs(ARGV) do
  out[#out + 1] = redis.call('HINCRBY', 'pipeline:redis:epochs', field, 1)
  out[#out + 1] = tonumber(redis.call('HGET', 'pipeline:redis:offsets', field) or '-1')
end
return out
