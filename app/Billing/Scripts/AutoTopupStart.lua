-- Whether an auto top-up may start now, and if so takes its lock and counts it for the UTC day.
-- KEYS: lock, day's count, cooldown. ARGV: lock token, lock ttl ms, most per day, end of the UTC day (unix ms).
-- Returns {'cooldown', ms left} | {'daily_limit'} | {'locked'} | {'ok', attempts today}. The lock is left to expire.
local left = redis.call('PTTL', KEYS[3])
if left > 0 then return {'cooldown', left} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return {'daily_limit'} end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'locked'} end
local count = redis.call('INCR', KEYS[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
return {'ok', count}
