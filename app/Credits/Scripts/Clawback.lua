-- Takes credits back (a refunded payment), once per id: like a settle of a hold that held nothing, recorded
-- settled under the id, its ledger entry marked pending; never below zero, what the balance lacks is the shortfall.
-- Needs SharedLua. KEYS: balance, holds, hold expiry, ledger pending.
-- ARGV: id, amount, now ms, member, record retention ms, first bucket ('topup' | 'plan').
-- Returns {'load'} | {'duplicate' | 'taken', plan part, top-up part, cycle start, shortfall}.
local record = redis.call('HGET', KEYS[2], ARGV[1])
if record then
  local _, plan_part, topup_part, cycle = parse(record)
  return {'duplicate', int(plan_part), int(topup_part), cycle, '0'}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'load'} end
local now, amount = tonumber(ARGV[3]), tonumber(ARGV[2])
roll(KEYS[1], now)
local plan = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'plan')))
local topup = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'topup')))
local from_plan, from_topup
if ARGV[6] == 'topup' then
  from_topup = math.min(amount, topup)
  from_plan = math.min(amount - from_topup, plan)
else
  from_plan = math.min(amount, plan)
  from_topup = math.min(amount - from_plan, topup)
end
local cycle = redis.call('HGET', KEYS[1], 'cycle_start')
redis.call('HINCRBY', KEYS[1], 'plan', int(-from_plan))
redis.call('HINCRBY', KEYS[1], 'topup', int(-from_topup))
redis.call('HSET', KEYS[2], ARGV[1], 'settled|' .. int(from_plan) .. '|' .. int(from_topup) .. '|' .. cycle)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
redis.call('ZADD', KEYS[4], now, ARGV[4])
return {'taken', int(from_plan), int(from_topup), cycle, int(amount - from_plan - from_topup)}
