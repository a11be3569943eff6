#!/usr/bin/env bash
# garden agent run against a scripted endpoint (stub_chat_server.py): a task that searches
# nothing, reads a file, writes a note and answers; the transcript's events; a resumed session
# asks again for a write granted before (and, with no terminal, is denied); errors: an unknown
# mode, a malformed --index, an existing transcript without --resume, an endpoint that is down.
set -uo pipefail
garden="$1"
here="$(dirname "$0")"
source "$here/helpers.sh"

mkdir -p "$work/ws"
printf 'Ashford lies on the river Wey.\nIts mayor is Ana Ortiz.\n' >"$work/ws/town.txt"
printf 'Keep notes short.\n' >"$work/ws/AGENT.md"
cat >"$work/script.json" <<'JSON'
[{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"town.txt\", \"offset\": 2}"}}]},
 {"role": "assistant", "content": "Saving. <tool_call>{\"name\": \"write_note\", \"arguments\": {\"name\": \"mayor.md\", \"content\": \"Ana Ortiz\"}}</tool_call>"},
 {"role": "assistant", "content": "The mayor of Ashford is Ana Ortiz."}]
JSON
python3 "$here/stub_chat_server.py" "$work/script.json" "$work/port" "$work/requests.jsonl" &
stub=$!
trap 'kill $stub 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")/v1"

"$garden" agent run --endpoint "$url" --model stub --workspace "$work/ws" --mode accept_edits --task "Find the mayor of Ashford." \
  >"$work/answer" 2>"$work/agent.err" && grep -qx "The mayor of Ashford is Ana Ortiz." "$work/answer" && pass ||
  fail "agent run: $(cat "$work/answer" "$work/agent.err")"
[ "$(cat "$work/ws/notes/mayor.md" 2>/dev/null)" = "Ana Ortiz" ] && pass || fail "the note was not written"
python3 - "$work/ws/.agent/transcript.jsonl" "$work/requests.jsonl" <<'PY' && pass || fail "transcript or requests not as documented"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
types = [e["type"] for e in events]
assert types[0] == "system" and types[-1] == "stop" and events[-1]["payload"]["reason"] == "final", types
assert [e["id"] for e in events] == list(range(1, len(events) + 1))
assert events[1]["payload"]["content"].startswith("Project instructions (AGENT.md):") and events[1]["payload"]["pinned"]
results = [e["payload"] for e in events if e["type"] == "tool_result"]
assert results[0]["content"] == "2: Its mayor is Ana Ortiz.\n" and not results[1]["error"], results
requests = [json.loads(l) for l in open(sys.argv[2])]
assert len(requests) == 3 and requests[0]["tools"][0]["type"] == "function"
assert requests[1]["messages"][-1] == {"role": "tool", "content": "2: Its mayor is Ana Ortiz.\n", "tool_call_id": "c1"}, requests[1]["messages"][-1]
PY
# Resumed in default mode with no terminal: the write that accept_edits allowed is now an ask,
# and an ask with no one to answer it is denied.
: >"$work/requests.jsonl"
printf '[{"role": "assistant", "content": "<tool_call>{\\"name\\": \\"write_note\\", \\"arguments\\": {\\"name\\": \\"mayor.md\\", \\"content\\": \\"x\\", \\"mode\\": \\"append\\"}}</tool_call>"}, {"role": "assistant", "content": "done"}]' >"$work/script.json"
kill $stub 2>/dev/null; wait $stub 2>/dev/null
rm -f "$work/port"
python3 "$here/stub_chat_server.py" "$work/script.json" "$work/port" "$work/requests.jsonl" &
stub=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")/v1"
"$garden" agent run --endpoint "$url" --model stub --workspace "$work/ws" --resume --task "Add to the note." </dev/null >"$work/answer2" 2>"$work/agent2.err" &&
  [ "$(cat "$work/ws/notes/mayor.md")" = "Ana Ortiz" ] && grep -q '"effect":"deny"' "$work/ws/.agent/transcript.jsonl" &&
  python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert len(r[0]['messages']) > 6, len(r[0]['messages'])" "$work/requests.jsonl" &&
  pass || fail "resume: $(cat "$work/answer2" "$work/agent2.err")"

expect_error 2 "permission mode 'yolo'" -- "$garden" agent run --endpoint "$url" --model stub --workspace "$work/ws" --mode yolo --task t --transcript "$work/t2.jsonl"
expect_error 2 "--index bad: expected NAME=FOLDER" -- "$garden" agent run --endpoint "$url" --model stub --workspace "$work/ws" --index bad --task t --transcript "$work/t3.jsonl"
expect_error 1 "a transcript exists; continue it with --resume" -- "$garden" agent run --endpoint "$url" --model stub --workspace "$work/ws" --task t
expect_error 1 "after 2 tries" -- "$garden" agent run --endpoint "http://127.0.0.1:9/v1" --model stub --workspace "$work/ws" --retries 1 --task t --transcript "$work/t4.jsonl"
report
