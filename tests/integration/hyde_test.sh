#!/usr/bin/env bash
# HyDE through the CLI on a toy byte-level generator and encoder: garden search --hyde writes
# the run and the generated documents; a template without {query}, a missing --model and a
# foreign file at the documents' path are refused with one-line errors.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

toy_lm_and_embedder
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
expect_error 2 "exists and is not a TREC run" -- "$garden" search "${hyde[@]}" --hyde-task title --run "$work/mine.jsonl"
grep -q "notes of mine" "$work/mine.jsonl" && pass || fail "search overwrote a file that is no run"
# A negative N is refused before any work.
expect_error 2 "HyDE sampling needs n >= 0" -- "$garden" search --index "$work/idx" --model "$work/emb" --queries "$work/coll" \
  --hyde "$work/lm" --hyde-n -1 --run "$work/t.run" --threads 1
report
