-- Records a grant as pending before its ledger entry is written, or returns the record an earlier attempt left.
-- KEYS: grant records, pending grants. ARGV: grant id, record, pending member, now ms.
-- Returns {'new' | 'existing', record}.
local record = redis.call('HGET', KEYS[1], ARGV[1])
if record then return {'existing', record} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return {'new', ARGV[2]}
