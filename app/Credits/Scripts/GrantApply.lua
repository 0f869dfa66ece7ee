-- Applies a pending grant whose ledger entry is written, once. KEYS: balance, grant records, pending grants.
-- ARGV: user id, grant id, now ms, applied-record retention s, mode: 'apply' raises the balance, 'counted' only
-- marks the grant applied (the ledger had its entry long before, under a record since forgotten).
-- Returns applied | unloaded (no balance: the rebuild that loads one counts the entry) | counted | loaded (a rebuild counted
-- it before this apply) | duplicate (applied before) | missing.
local record = redis.call('HGET', KEYS[2], ARGV[2])
if not record then
  redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. ARGV[2])
  return 'missing'
end
local state, plan, topup, cycle, rest = grant_parse(record)
if state ~= 'pending' then return state == 'loaded' and 'loaded' or 'duplicate' end
local status = 'counted'
if ARGV[5] == 'apply' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    roll(KEYS[1], tonumber(ARGV[3]))
    if tonumber(topup) ~= 0 then redis.call('HINCRBY', KEYS[1], 'topup', topup) end
    -- A plan grant of a cycle that has ended expired with it, as the ledger counts it.
    if tonumber(plan) ~= 0 and redis.call('HGET', KEYS[1], 'cycle_start') == cycle then
      redis.call('HINCRBY', KEYS[1], 'plan', plan)
    end
    status = 'applied'
  else
    status = 'unloaded'
  end
end
grant_mark_done(KEYS[2], KEYS[3], ARGV[1], ARGV[2], 'applied', plan, topup, cycle, rest)
grant_expire_when_settled(KEYS[2], ARGV[4])
return status
