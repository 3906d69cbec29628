--[[ Extends a lease only if the caller still holds it.
  KEYS[1] lease key
  ARGV[1] holder id   ARGV[2] ttl ms
  Returns 1 renewed, 0 not the holder (lost or expired) ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
