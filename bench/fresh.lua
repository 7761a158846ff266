-- wrk script for bench/load.sh and bench/alternate.sh: a different token on every request,
-- in turn from the file TOKENS_FILE (one per line), in `Authorization: Bearer`.
local tokens, i = {}, 0
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
