--[[ Takes one slot for an execution from its swarm's hourly window, its account's
  per-minute window and its agent's concurrency set, atomically, or none of them.
  Granting the same execution twice is a no-op (redelivered intake jobs).
  KEYS[1] swarm window (sorted set)   KEYS[2] account window (sorted set)
  KEYS[3] agent running set (sorted set; score = when the slot expires)
  ARGV[1] now ms   ARGV[2] execution id
  ARGV[3] swarm limit (-1: no swarm)   ARGV[4] swarm window ms
  ARGV[5] account limit   ARGV[6] account window ms
  ARGV[7] concurrency limit   ARGV[8] slot lifetime ms (backstop if a release is lost)
  Returns 0 granted, -1 swarm limited, -2 account limited, -3 concurrency limited ]]
local now = tonumber(ARGV[1])
local id = ARGV[2]
local swarmLimit = tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[3], id) then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if swarmLimit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
  if redis.call('ZCARD', KEYS[1]) >= swarmLimit then return -1 end
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -2 end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then return -3 end
if swarmLimit >= 0 then
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
redis.call('ZADD', KEYS[2], now, id)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[8]), id)
return 0
