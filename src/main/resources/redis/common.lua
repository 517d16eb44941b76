-- (shared head of the Redis scripts, prepended by the sinks) Event types by index, and seconds
-- from integer milliseconds as every score and engagement_seconds is written: 1500 -> "1.5".
local TYPES = {'play', 'pause', 'finish', 'click'}

local function secs(ms)
  local s = math.floor(ms / 1000)
  local r = ms - s * 1000
  if r == 0 then return string.format('%d.0', s) end
  local frac = string.gsub(string.format('%03d', r), '0+$', '')
  return string.format('%d', s) .. '.' .. frac
end

