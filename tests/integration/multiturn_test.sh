#!/usr/bin/env bash
# garden eval multiturn end to end: sharded instructions from `garden data listspec`, the
# smoke reproduction's chat model as the assistant, run in this process and through
# `garden serve`'s OpenAI-compatible endpoint (the client path any hosted model takes), with
# the same conversations both ways; and its errors.
set -u
garden="$1"
source "$(dirname "$0")/helpers.sh"

# A tiny listspec chat model, trained by the smoke reproduction into a scratch cache.
"$garden" repro run lost-in-conversation --scale smoke --out "$work/repro" --cache "$work/cache" --threads 1 >/dev/null 2>&1 ||
  { echo "FAIL: repro run lost-in-conversation --scale smoke"; exit 1; }
model=$(ls -d "$work"/cache/listspec-chat/*/model | head -1)
[ -f "$model/model.safetensors" ] || { echo "FAIL: no chat model in the cache"; exit 1; }

"$garden" data listspec --count 4 --seed 3 --out "$work/tasks.jsonl" >/dev/null && [ "$(wc -l <"$work/tasks.jsonl")" = 4 ] && pass ||
  fail "data listspec"
echo "notes" >"$work/notes.txt"
expect_error 2 "exists and is not a sharded-instructions file" -- "$garden" data listspec --out "$work/notes.txt"
[ "$(cat "$work/notes.txt")" = notes ] && pass || fail "data listspec overwrote a file it did not write"

run=(--tasks "$work/tasks.jsonl" --modes full,concat,sharded,recap,snowball --runs 2 --temperature 1 --seed 5 --threads 1)
"$garden" eval multiturn "${run[@]}" --model "$model" --out "$work/local" >"$work/local.txt" 2>&1 || fail "eval multiturn --model: $(cat "$work/local.txt")"
grep -q "^sharded " "$work/local.txt" && pass || fail "eval multiturn printed no SHARDED row: $(cat "$work/local.txt")"
for mode in full concat sharded recap snowball; do
  [ "$(wc -l <"$work/local/logs/$mode.jsonl")" = 8 ] && pass || fail "logs/$mode.jsonl does not hold 4 x 2 conversations"
done

start_server "$work/serve.log" --model "$model" --api-key sekret
"$garden" eval multiturn "${run[@]}" --endpoint "$url/v1" --endpoint-model model --api-key sekret --concurrency 3 \
  --out "$work/remote" >"$work/remote.txt" 2>&1 || fail "eval multiturn --endpoint: $(cat "$work/remote.txt")"
# The same conversations: the served model samples each turn with the seed the simulator sends.
for mode in full concat sharded recap snowball; do
  python3 - "$work/local/logs/$mode.jsonl" "$work/remote/logs/$mode.jsonl" <<'PY' && pass || fail "$mode: served conversations differ from local ones"
import json, sys
local, remote = ([json.loads(line) for line in open(f)] for f in sys.argv[1:])
strip = lambda log: {k: v for k, v in log.items() if k != "assistant"}
assert len(local) == len(remote) and all(strip(a) == strip(b) for a, b in zip(local, remote)), "differ"
PY
done
expect_error 1 "HTTP 401" -- "$garden" eval multiturn "${run[@]}" --endpoint "$url/v1" --endpoint-model model --api-key wrong --out "$work/e1"
expect_error 1 "HTTP 404" -- "$garden" eval multiturn "${run[@]}" --endpoint "$url/v1" --endpoint-model gpt-4 --api-key sekret --out "$work/e2"
kill -TERM "$pid"
wait "$pid"
expect_error 1 "no response" -- "$garden" eval multiturn "${run[@]}" --endpoint "$url/v1" --endpoint-model model --out "$work/e3"

# Bad input: one clear line and a non-zero exit.
expect_error 2 "--model DIR or --endpoint URL" -- "$garden" eval multiturn "${run[@]}" --out "$work/e4"
expect_error 1 "missing.jsonl" -- "$garden" eval multiturn --tasks "$work/missing.jsonl" --model "$model" --out "$work/e5"
printf '{"task_id": "a", "task": "listspec", "shards": []}\n' >"$work/bad.jsonl"
expect_error 1 "bad.jsonl:1: 'shards' must be a non-empty list" -- "$garden" eval multiturn --tasks "$work/bad.jsonl" --model "$model" --out "$work/e6"
head -1 "$work/tasks.jsonl" | sed 's/"constraints":\[[^]]*\]/"constraints":[]/' >"$work/short.jsonl"
expect_error 1 "shards for 0 constraints" -- "$garden" eval multiturn --tasks "$work/short.jsonl" --model "$model" --out "$work/e7"
expect_error 2 "unknown simulation mode 'sideways'" -- "$garden" eval multiturn --tasks "$work/tasks.jsonl" --model "$model" --modes full,sideways --out "$work/e8"
expect_error 2 "--temperature must be a finite number >= 0" -- "$garden" eval multiturn --tasks "$work/tasks.jsonl" --model "$model" --temperature -1 --out "$work/e9"
[ ! -e "$work/e9" ] && pass || fail "a refused --temperature still created --out"
expect_error 2 "--runs must be >= 1" -- "$garden" eval multiturn --tasks "$work/tasks.jsonl" --model "$model" --runs 0 --out "$work/e10"
printf '' >"$work/empty.jsonl"
expect_error 1 "no sharded instructions" -- "$garden" eval multiturn --tasks "$work/empty.jsonl" --model "$model" --out "$work/e11"
cat "$work/tasks.jsonl" "$work/tasks.jsonl" >"$work/twice.jsonl"
expect_error 1 "appears twice" -- "$garden" eval multiturn --tasks "$work/twice.jsonl" --model "$model" --out "$work/e12"
expect_error 2 "holds the output of 'garden repro'" -- "$garden" eval multiturn --tasks "$work/tasks.jsonl" --model "$model" --out "$work/repro"
report
