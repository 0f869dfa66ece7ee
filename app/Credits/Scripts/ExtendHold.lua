-- Raises a hold that is still held to a new total (a fallback to a pricier model): what it lacks comes from
-- the plan bucket of the hold's cycle first, then top-up, all or nothing. Idempotent by the total: a retry
-- finds the hold already there and moves nothing. Runs after CreditStore.SharedLua (int, parse, roll).
-- KEYS: balance, holds. ARGV: hold id, total units, now ms.
-- Returns {'ok', plan part, top-up part} | {'short', available} | {'gone'} (settled or voided) | {'load'} (no balance).
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then return {'gone'} end
local state, plan_part, topup_part, cycle = parse(record)
if state ~= 'held' then return {'gone'} end
local delta = tonumber(ARGV[2]) - plan_part - topup_part
if delta <= 0 then return {'ok', int(plan_part), int(topup_part)} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'load'} end
roll(KEYS[1], tonumber(ARGV[3]))
-- Plan credits of a later cycle than the hold's would not come back to the right bucket on release.
local plan = 0
if redis.call('HGET', KEYS[1], 'cycle_start') == cycle then plan = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'plan'))) end
local topup = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'topup')))
if plan + topup < delta then return {'short', int(plan + topup)} end
local from_plan = math.min(delta, plan)
local from_topup = delta - from_plan
redis.call('HINCRBY', KEYS[1], 'plan', int(-from_plan))
redis.call('HINCRBY', KEYS[1], 'topup', int(-from_topup))
redis.call('HSET', KEYS[2], ARGV[1], 'held|' .. int(plan_part + from_plan) .. '|' .. int(topup_part + from_topup) .. '|' .. cycle)
return {'ok', int(plan_part + from_plan), int(topup_part + from_topup)}
