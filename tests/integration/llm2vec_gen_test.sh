#!/usr/bin/env bash
# LLM2Vec-Gen through the CLI on a toy byte-level LM: llm2vec-gen prepare (the LM's answers and
# the teacher's targets), embed train --objective llm2vec-gen (straight, and stopped then
# resumed to the same weights), llm2vec-gen decode, embed encode of the generative embedder;
# and bad input refused with one-line errors.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

toy_lm_and_embedder
for i in $(seq 1 12); do echo "Define \"word$i\"."; done >"$work/queries.txt"

# prepare: one line per query, each with its answer ids and a teacher vector.
"$garden" llm2vec-gen prepare --model "$work/lm" --teacher "$work/emb" --queries "$work/queries.txt" --out "$work/prep.jsonl" \
  --max-new-tokens 6 --cue ' A:' --threads 1 >"$work/prep.out" 2>&1 || fail "llm2vec-gen prepare: $(cat "$work/prep.out")"
python3 - "$work/prep.jsonl" <<'PY' && pass || fail "prepared queries are incomplete"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 12, len(lines)
for l in lines:
    assert l["query"].startswith("Define") and l["response_ids"] and len(l["teacher"]) == 16, l
PY
echo "a file of mine" >"$work/mine.jsonl"
expect_error 2 "exists and is not prepared LLM2Vec-Gen queries" -- "$garden" llm2vec-gen prepare --model "$work/lm" --teacher "$work/emb" \
  --queries "$work/queries.txt" --out "$work/mine.jsonl" --threads 1
grep -q "a file of mine" "$work/mine.jsonl" && pass || fail "prepare overwrote a file it did not write"
expect_error 1 "no-such.txt" -- "$garden" llm2vec-gen prepare --model "$work/lm" --teacher "$work/emb" --queries "$work/no-such.txt" \
  --out "$work/p2.jsonl" --threads 1

# Training: 6 steps straight, and 3 + resume 3, give the same weights.
common=(--objective llm2vec-gen --model "$work/lm" --train "$work/prep.jsonl" --eval "$work/prep.jsonl" --special-tokens 3 --cue ' A:' --steps 6
  --batch 4 --warmup 1 --eval-every 3 --checkpoint-every 3 --threads 1)
"$garden" embed train "${common[@]}" --out "$work/gen" >"$work/train.out" 2>&1 || fail "embed train --objective llm2vec-gen: $(cat "$work/train.out")"
"$garden" embed train "${common[@]}" --out "$work/gen2" --stop-after 3 >/dev/null 2>&1 || fail "llm2vec-gen first half failed"
"$garden" embed train "${common[@]}" --out "$work/gen2" --resume >/dev/null 2>&1 || fail "llm2vec-gen --resume failed"
if cmp -s "$work/gen/checkpoints/step_00000006/model.safetensors" "$work/gen2/checkpoints/step_00000006/model.safetensors"; then pass; else
  fail "resumed LLM2Vec-Gen weights differ from the straight run"; fi
grep -q '"kind": *"generative_embedder"' "$work/gen/checkpoints/step_00000006/config.json" && pass || fail "the checkpoint is not a generative embedder"
grep -q '"query_suffix": *" A:"' "$work/gen/checkpoints/step_00000006/config.json" && pass || fail "the checkpoint does not keep its cue"
grep -q "cosine_own_teacher" "$work/gen/metrics.jsonl" && pass || fail "metrics.jsonl lacks the cosine diagnostics"

# decode and encode from the run folder (its latest checkpoint).
"$garden" llm2vec-gen decode --model "$work/gen" --text 'Define "word3".' --text 'Define "word4".' --threads 1 >"$work/decode.out" 2>&1 &&
  [ "$(grep -c $'\t' "$work/decode.out")" -eq 2 ] && pass || fail "llm2vec-gen decode: $(cat "$work/decode.out")"
"$garden" embed encode --model "$work/gen" --input "$work/queries.txt" --out "$work/q.npy" --threads 1 >/dev/null 2>&1 &&
  python3 - "$work/q.npy" <<'PY'
import ast, math, struct, sys
data = open(sys.argv[1], "rb").read()
header_len = struct.unpack("<H", data[8:10])[0]
header = ast.literal_eval(data[10:10 + header_len].decode())
assert header["shape"] == (12, 16) and header["descr"] == "<f4", header
values = struct.unpack("<192f", data[10 + header_len:])
for row in range(12):
    assert abs(math.sqrt(sum(v * v for v in values[row * 16:(row + 1) * 16])) - 1) < 1e-4
PY
[ $? -eq 0 ] && pass || fail "embed encode of a generative embedder"

# Bad input.
expect_error 2 "--temperature is a setting of contrastive training" -- "$garden" embed train "${common[@]}" --temperature 0.1 --out "$work/g3"
expect_error 2 "both 0" -- "$garden" embed train "${common[@]}" --lambda-rec 0 --lambda-align 0 --out "$work/g4"
printf '{"query": "q", "response_ids": [5, 2], "teacher": [1]}\n{"query": "q"\n' >"$work/bad.jsonl"
expect_error 1 "bad.jsonl:2" -- "$garden" embed train --objective llm2vec-gen --model "$work/lm" --train "$work/bad.jsonl" --out "$work/g5" --threads 1
head -1 "$work/bad.jsonl" >"$work/narrow.jsonl"
expect_error 1 "teacher vectors of 1 dimensions, the model embeds into 16" -- "$garden" embed train --objective llm2vec-gen \
  --model "$work/gen" --train "$work/narrow.jsonl" --out "$work/g6" --threads 1
expect_error 1 "not a generative embedder" -- "$garden" llm2vec-gen decode --model "$work/emb" --text hi --threads 1
expect_error 2 "nothing to decode" -- "$garden" llm2vec-gen decode --model "$work/gen" --threads 1
report
