#!/usr/bin/env bash
# GritLM through the CLI on a toy SentencePiece LM: embed train --objective grit in each mode
# (and a resume), the model embedding as any embedder does (index build with --store-kv,
# search), garden rag in every caching mode with the answers written; bad input refused with
# one-line errors and nothing of the user's overwritten.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

for i in $(seq 1 300); do echo "the river $i was founded in north city in $((1700 + i)) near the green house"; done >"$work/text.txt"
"$garden" tokenizer train --input "$work/text.txt" --vocab 320 --out "$work/tok.model" >/dev/null 2>&1 || fail "tokenizer train failed"
"$garden" lm train --train "$work/text.txt" --valid "$work/text.txt" --tokenizer "$work/tok.model" --d-model 16 --n-layers 1 --n-heads 2 \
  --seq 32 --batch 4 --steps 3 --warmup 1 --eval-windows 2 --threads 1 --out "$work/lm" >/dev/null 2>&1 || fail "lm train (the toy LM) failed"

: >"$work/pairs.jsonl"
: >"$work/gen.jsonl"
for i in $(seq 1 12); do
  echo "{\"query\": \"river $i\", \"positive\": \"the river $i was founded in north city\", \"negatives\": [\"green house $i\"]}" >>"$work/pairs.jsonl"
  echo "{\"prompt\": \"Where was river $i founded?\", \"response\": \"north city\"}" >>"$work/gen.jsonl"
done
echo '{"prompt": "When was river 3 founded?", "response": "1703", "document": "river 3 was founded in 1703", "order": "doc-first"}' >>"$work/gen.jsonl"
grit=(embed train --objective grit --model "$work/lm" --pairs "$work/pairs.jsonl::Retrieve the river" --gen-data "$work/gen.jsonl"
  --batch 4 --gen-batch 2 --steps 4 --warmup 1 --threads 1)
"$garden" "${grit[@]}" --out "$work/grit" >"$work/grit.out" 2>&1 || fail "embed train --objective grit: $(tail -3 "$work/grit.out")"
grep -q "step 1: representation loss .*, generative loss .*, ratio" "$work/grit.out" && pass || fail "the step-1 losses and their ratio are not printed"
grep -q '"rep_loss"' "$work/grit/metrics.jsonl" && grep -q '"gen_loss"' "$work/grit/metrics.jsonl" && pass ||
  fail "metrics.jsonl lacks the two losses"
# Interrupted after 2 steps and resumed: the weights of an uninterrupted run.
"$garden" "${grit[@]}" --out "$work/halted" --stop-after 2 >/dev/null 2>&1 || fail "grit with --stop-after failed"
"$garden" "${grit[@]}" --out "$work/halted" --resume >/dev/null 2>&1 || fail "grit --resume failed"
cmp -s "$work/grit/checkpoints/step_00000004/model.safetensors" "$work/halted/checkpoints/step_00000004/model.safetensors" && pass ||
  fail "a resumed grit run differs from an uninterrupted one"
"$garden" embed train --objective grit --model "$work/lm" --mode embedding --attention cb --pairs "$work/pairs.jsonl" --batch 4 --steps 2 --warmup 1 \
  --threads 1 --out "$work/emb-only" >/dev/null 2>&1 && pass || fail "grit --mode embedding --attention cb failed"
"$garden" embed train --objective grit --model "$work/lm" --mode generative --gen-data "$work/gen.jsonl" --gen-batch 2 --steps 2 --warmup 1 \
  --threads 1 --out "$work/gen-only" >/dev/null 2>&1 && pass || fail "grit --mode generative failed"

# The GritLM embeds like any embedder, and its index keeps every document's states.
mkdir -p "$work/coll/qrels"
printf '{"_id": "d1", "text": "the river 1 was founded in north city in 1701"}\n{"_id": "d2", "text": "the green house"}\n' >"$work/coll/corpus.jsonl"
printf '{"_id": "q1", "text": "Where was river 1 founded?"}\n' >"$work/coll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\n' >"$work/coll/qrels/test.tsv"
"$garden" index build --kind flat --model "$work/grit" --corpus "$work/coll" --store-kv --out "$work/idx" >/dev/null 2>&1 ||
  fail "index build --store-kv failed"
[ -f "$work/idx/kv/manifest.json" ] && [ -f "$work/idx/kv/0.safetensors" ] && [ -f "$work/idx/kv/1.safetensors" ] && pass ||
  fail "the index lacks its documents' states"
"$garden" search --index "$work/idx" --model "$work/grit" --queries "$work/coll" --run "$work/grit.run" --threads 1 >/dev/null 2>&1 && pass ||
  fail "search with the GritLM failed"

for cache in none query doc query-doc doc-query; do
  "$garden" rag --model "$work/grit" --index "$work/idx" --queries "$work/coll/queries.jsonl" --cache "$cache" --max-new-tokens 3 \
    --out "$work/answers-$cache.jsonl" --threads 1 >"$work/rag.out" 2>&1 || fail "rag --cache $cache: $(tail -2 "$work/rag.out")"
  python3 - "$work/answers-$cache.jsonl" <<'PY' && pass || fail "rag --cache $cache wrote no answer"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1 and lines[0]["_id"] == "q1" and "answer" in lines[0] and lines[0]["doc_row"] in (0, 1), lines
PY
done
"$garden" rag --model "$work/grit" --no-retrieval --query "Where was river 1 founded?" --max-new-tokens 3 --threads 1 >"$work/norag.out" 2>&1 &&
  grep -q "^answer: " "$work/norag.out" && pass || fail "rag --no-retrieval gave no answer"

expect_error 2 "--attention must be bbcc, cccc, bb, cc or cb" -- "$garden" "${grit[@]}" --attention bc --out "$work/bad"
expect_error 2 "--gen-loss must be token, sample, mixed or sum_per_sample" -- "$garden" "${grit[@]}" --gen-loss mean --out "$work/bad"
expect_error 2 "embedding-only" -- "$garden" "${grit[@]}" --attention bb --out "$work/bad2"
expect_error 2 "--mode generative trains no embeddings" -- "$garden" "${grit[@]}" --mode generative --out "$work/bad3"
echo '{"prompt": "p"}' >"$work/broken.jsonl"
expect_error 1 "broken.jsonl:1" -- "$garden" embed train --objective grit --model "$work/lm" --pairs "$work/pairs.jsonl" \
  --gen-data "$work/broken.jsonl" --batch 4 --out "$work/bad4"
expect_error 2 "--pairs and --gen-data are the data of --objective grit" -- "$garden" embed train --model "$work/grit" \
  --pairs "$work/pairs.jsonl" --out "$work/bad5"
expect_error 2 "--cache must be none, query, doc, query-doc or doc-query" -- "$garden" rag --model "$work/grit" --index "$work/idx" \
  --query "x" --cache all
expect_error 2 "puts the query first; drop --prompt" -- "$garden" rag --model "$work/grit" --index "$work/idx" --query "x" --cache query \
  --prompt doc-first
expect_error 2 "nothing to cache" -- "$garden" rag --model "$work/grit" --no-retrieval --query "x" --cache query
expect_error 1 "not a GritLM model" -- "$garden" rag --model "$work/lm" --no-retrieval --query "x"
"$garden" index build --kind flat --model "$work/grit" --corpus "$work/coll" --out "$work/plain" >/dev/null 2>&1 || fail "index build failed"
expect_error 1 "has no stored document states" -- "$garden" rag --model "$work/grit" --index "$work/plain" --query "x" --cache doc
toy_lm_and_embedder
expect_error 2 "is not a GritLM" -- "$garden" index build --kind flat --model "$work/emb" --corpus "$work/coll" --store-kv --out "$work/idx2"
echo "notes of mine" >"$work/mine.jsonl"
expect_error 2 "exists and is not answers of garden rag" -- "$garden" rag --model "$work/grit" --index "$work/idx" \
  --queries "$work/coll/queries.jsonl" --out "$work/mine.jsonl"
grep -q "notes of mine" "$work/mine.jsonl" && pass || fail "rag overwrote a file it did not write"
report
