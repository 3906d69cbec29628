--[[ The executor node's check before it runs an execution, and its announcement, in one
  round trip: refuses the execution if its account or agent is halted; otherwise publishes
  its `running` progress frame.
  KEYS[1] agent halt key   KEYS[2] account halt key
  ARGV[1] the account's progress channel   ARGV[2] the running frame (JSON)
  Returns 'account_halted', 'agent_halted', or '' when the execution may run ]]
if redis.call('EXISTS', KEYS[2]) == 1 then return 'account_halted' end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'agent_halted' end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return ''
