#!/usr/bin/env bash
# HyDE through the CLI on a toy byte-level generator and encoder: garden search --hyde writes
# the run and the generated documents; a template without {query}, a missing --model and a
# foreign file at the documents' path are refused with one-line errors.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

for i in $(seq 1 200); do echo "the wing $i gives lift while the body $((i * 3)) gives drag"; done >"$work/corpus.txt"
"$garden" lm train --train "$work/corpus.txt" --valid "$work/corpus.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 32 --batch 4 \
  --steps 3 --warmup 1 --eval-windows 2 --threads 1 --out "$work/lm" >/dev/null 2>&1 || fail "lm train failed"
"$garden" embed init --model "$work/lm" --out "$work/emb" >/dev/null 2>&1 || fail "embed init failed"
mkdir -p "$work/coll/qrels"
printf '{"_id": "d1", "title": "Wings", "text": "lift over the wing"}\n{"_id": "d2", "text": "drag of a body"}\n{"_id": "d3", "text": "heat in pipes"}\n' \
  >"$work/coll/corpus.jsonl"
printf '{"_id": "q1", "text": "wing lift"}\n{"_id": "q2", "text": "pipe heat"}\n' >"$work/coll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n' >"$work/coll/qrels/test.tsv"
"$garden" index build --kind flat --model "$work/emb" --corpus "$work/coll" --out "$work/idx" >/dev/null 2>&1 || fail "index build failed"

hyde=(--index "$work/idx" --model "$work/emb" --queries "$work/coll" --hyde "$work/lm" --hyde-n 2 --max-new-tokens 6 --k 3
  --threads 1)
"$garden" search "${hyde[@]}" --hyde-task title --run "$work/hyde.run" >"$work/hyde.out" 2>&1 || fail "search --hyde: $(cat "$work/hyde.out")"
[ "$(wc -l <"$work/hyde.run")" -eq 6 ] && pass || fail "the HyDE run does not hold 3 hits for each of 2 queries"
python3 - "$work/hyde.run.hyde.jsonl" <<'PY' && pass || fail "the generated documents are not written"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["query_id"] for l in lines] == ["q1", "q2"] and all(len(l["documents"]) == 2 for l in lines), lines
PY
# The same seed writes the same documents.
"$garden" search "${hyde[@]}" --hyde-task title --run "$work/again.run" >/dev/null 2>&1 && cmp -s "$work/hyde.run.hyde.jsonl" "$work/again.run.hyde.jsonl" &&
  pass || fail "HyDE with one seed wrote different documents"

expect_error 2 "needs {query}" -- "$garden" search "${hyde[@]}" --hyde-template "no query here" --run "$work/t.run"
expect_error 2 "unknown HyDE task 'blog'" -- "$garden" search "${hyde[@]}" --hyde-task blog --run "$work/t.run"
expect_error 2 "HyDE encodes the queries" -- "$garden" search --index "$work/idx" --queries "$work/coll" --hyde "$work/lm" --run "$work/t.run"
echo "notes of mine" >"$work/mine.jsonl"
expect_error 2 "exists and is not HyDE documents" -- "$garden" search "${hyde[@]}" --run "$work/t.run" --hyde-out "$work/mine.jsonl"
grep -q "notes of mine" "$work/mine.jsonl" && pass || fail "search --hyde overwrote a file it did not write"
report
