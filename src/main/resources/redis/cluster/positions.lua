-- (shared head of the cluster scripts, prepended by the sink) Positions of one hash slot, kept in
-- KEYS[1], a hash: field <topic>:<partition> -> the next offset of that partition applied to this
-- slot. ARGV from index 2: nparts, (field, expected, next)*. A stored position below what this
-- sink wrote (expected, -1 when it knows of none) means the slot went back in time (a node
-- restarted from an older snapshot, a failover lost writes): nothing is written, REWIND is returned
-- with each such field's stored position (0 when none), and the sink reads again from there.
local function check_positions(i)
  local nparts = tonumber(ARGV[i]); i = i + 1
  local parts, behind = {}, {'REWIND'}
  for p = 1, nparts do
    local field, expected, next = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    i = i + 3
    local stored = redis.call('HGET', KEYS[1], field)
    stored = stored and tonumber(stored) or -1
    if expected >= 0 and stored < expected then
      behind[#behind + 1] = field
      behind[#behind + 1] = math.max(stored, 0)
    end
    parts[p] = {field, stored, next}
  end
  if #behind > 1 then return nil, behind, i end
  return parts, nil, i
end

local function advance_positions(parts)
  for _, p in ipairs(parts) do
    if p[2] < p[3] then redis.call('HSET', KEYS[1], p[1], p[3]) end
  end
end
