#!/usr/bin/env bash
# garden agent run against garden's own server: a byte-level toy LM with a 4,096-byte context
# (the tool prompt does not fit the shipped base LM's 256 tokens) served by garden serve; with
# native tools and with the text protocol the runtime sends the task, the server answers, and the
# loop ends with a stop reason, whatever a model this small writes; the transcript is whole.
set -uo pipefail
garden="$1"
here="$(dirname "$0")"
source "$here/helpers.sh"

for i in $(seq 1 200); do echo "the note $i says the mayor of town $i is called name $((i * 7))"; done >"$work/corpus.txt"
"$garden" lm train --train "$work/corpus.txt" --valid "$work/corpus.txt" --tokenizer bytes --d-model 16 --n-layers 1 --n-heads 2 \
  --seq 64 --max-seq 4096 --batch 4 --steps 3 --warmup 1 --eval-windows 2 --threads 1 --out "$work/lm" >/dev/null 2>&1 ||
  fail "lm train (the toy LM) failed"
start_server "$work/serve.log" --model "$work/lm"
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/ws"
echo "The mayor of Ashford is Ana Ortiz." >"$work/ws/town.txt"

for protocol in native text; do
  flag=()
  [ "$protocol" = text ] && flag=(--text-protocol)
  "$garden" agent run --endpoint "$url/v1" --model lm --workspace "$work/ws" --mode dont_ask --max-turns 3 --max-tokens 24 \
    --transcript "$work/$protocol.jsonl" "${flag[@]}" --task "Who is the mayor of Ashford?" >"$work/answer" 2>"$work/err"
  rc=$?
  # 0: the model answered (final); 1: a stop other than an answer (max turns, a loop); never a crash or an HTTP error.
  { [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; } && grep -q "stop" "$work/err" && pass || fail "$protocol: exit $rc: $(cat "$work/err")"
  python3 - "$work/$protocol.jsonl" <<'PY' && pass || fail "$protocol: transcript"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
assert events[0]["type"] == "system" and events[-1]["type"] == "stop", [e["type"] for e in events]
assert any(e["type"] == "assistant" for e in events)
assert events[-1]["payload"]["reason"] in ("final", "max_turns", "loop_detected"), events[-1]
PY
done
report
