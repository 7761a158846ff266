-- wrk script for bench/load.sh and bench/alternate.sh: a random token among LIVE live users'
-- (from the file TOKENS_FILE, one per line), whose logins end and start as the requests go on:
-- every REQUESTS_PER_LOGIN requests the oldest live login ends and the next token's starts.
local tokens, n = {}, 0
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local live = tonumber(os.getenv("LIVE"))
local per_login = tonumber(os.getenv("REQUESTS_PER_LOGIN"))
math.randomseed(os.time())
-- The oldest live login; the live ones are the LIVE tokens from here on (wrapping around).
local oldest = math.random(#tokens)
request = function()
  n = n + 1
  if n % per_login == 0 then oldest = oldest + 1 end
  local i = (oldest + math.random(live) - 2) % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
