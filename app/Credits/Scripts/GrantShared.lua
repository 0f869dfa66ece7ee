-- Grant records: state|plan part|top-up part|cycle start|created ms|entry type|reason (the reason may hold '|': it is last).
local function grant_parse(record)
  return string.match(record, '^(%a+)|(%-?%d+)|(%-?%d+)|(%d*)|(.*)$')
end

-- state: applied (by the grant's own apply) or loaded (counted by a rebuild); both are done.
local function grant_mark_done(grants, pending, user, id, state, plan, topup, cycle, rest)
  redis.call('HSET', grants, id, state .. '|' .. plan .. '|' .. topup .. '|' .. cycle .. '|' .. rest)
  redis.call('ZREM', pending, user .. '|' .. id)
end

-- Applied records are kept for a retention (a retry within it is answered from them); pending ones until applied.
local function grant_expire_when_settled(grants, ttl)
  for _, value in ipairs(redis.call('HVALS', grants)) do
    if string.sub(value, 1, 8) == 'pending|' then
      redis.call('PERSIST', grants)
      return
    end
  end
  if redis.call('EXISTS', grants) == 1 then redis.call('EXPIRE', grants, ttl) end
end
