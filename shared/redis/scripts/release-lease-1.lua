--[[ Releases a lease only if the caller still holds it, so a holder whose lease expired
  cannot delete the next holder's.
  KEYS[1] lease key
  ARGV[1] holder id
  Returns 1 released, 0 not the holder ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
