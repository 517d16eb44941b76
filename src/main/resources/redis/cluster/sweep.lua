-- Brings one hash slot's positions up to what every slot has applied (the committed positions),
-- so that a restart, which resumes from the lowest position of any slot, reads again only what
-- followed the last sweep; and notices a slot that went back in time although nothing was written
-- to it since. KEYS: meta. ARGV: 1 unused, nparts, (field, expected, committed)*
local parts, behind = check_positions(2)
if behind then return behind end
advance_positions(parts)
return {'OK'}
