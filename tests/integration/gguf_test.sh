#!/usr/bin/env bash
# garden export gguf, checked by llama.cpp itself: node-llama-cpp (tests/clients/, installed by
# scripts/setup; its prebuilt llama.cpp runs offline) loads the exported file of a small
# garden model with grouped-query attention and a separate output matrix, and
# tests/clients/llama_cpp_test.mjs compares its tokenizer, greedy decoding and next-token
# log-probabilities with `garden lm generate --json`. Then the refusals, through the CLI.
set -u
garden="$1"
clients="$(cd "$(dirname "$0")/../clients" && pwd)"
source "$(dirname "$0")/helpers.sh"

if ! command -v node >/dev/null || [ ! -d "$clients/node_modules/node-llama-cpp" ]; then
  echo "FAIL: node or node-llama-cpp is missing: run scripts/setup"
  exit 1
fi

for i in $(seq 1 300); do
  echo "the cat sat on the mat and the dog ran to the park number $((i % 7)), then it rained."
  echo "a bird sang in the tree while the fox slept near $((i % 5)) old stones."
done >"$work/train.txt"
"$garden" tokenizer train --input "$work/train.txt" --vocab 320 --out "$work/tok.model" >/dev/null 2>&1 || { echo "FAIL: tokenizer train"; exit 1; }
"$garden" lm train --train "$work/train.txt" --valid "$work/train.txt" --tokenizer "$work/tok.model" --d-model 32 --n-layers 2 \
  --n-heads 4 --n-kv-heads 2 --tie-embeddings false --seq 32 --max-seq 64 --batch 8 --steps 150 --warmup 10 --eval-every 150 \
  --eval-windows 4 --threads 1 --out "$work/lm" >/dev/null 2>&1 || { echo "FAIL: lm train"; exit 1; }

"$garden" export gguf --model "$work/lm" --out "$work/lm.gguf" >"$work/export.log" 2>&1 && grep -q "wrote" "$work/export.log" &&
  pass || fail "export gguf: $(cat "$work/export.log")"

# garden's greedy continuations with their top-5 log-probabilities, one case per prompt.
prompts=("the cat" "a bird sang in" "the dog ran to the park number 3" "  two spaces, then é and 42")
for i in "${!prompts[@]}"; do
  "$garden" lm generate --model "$work/lm" --prompt "${prompts[$i]}" --max-tokens 12 --temperature 0 --json --logprobs 5 \
    --threads 1 >"$work/case$i.json" 2>"$work/generate.err" || fail "lm generate --json: $(cat "$work/generate.err")"
done
python3 - "$work" "${prompts[@]}" <<'EOF' || fail "assembling the cases"
import json, sys
work, prompts = sys.argv[1], sys.argv[2:]
cases = []
for i, prompt in enumerate(prompts):
    out = json.load(open(f"{work}/case{i}.json"))
    c = out["completions"][0]
    assert len(c["tokens"]) == len(c["top_logprobs"]) > 0, out
    cases.append({"prompt": prompt, "prompt_tokens": out["prompt_tokens"], "tokens": c["tokens"], "top_logprobs": c["top_logprobs"]})
json.dump(cases, open(f"{work}/cases.json", "w"))
EOF
# f32 weights and attention in f32: libtorch and ggml sum in different orders, so the
# log-probabilities differ by float rounding only (measured: 2.4e-6 at most).
if (cd "$clients" && node llama_cpp_test.mjs "$work/lm.gguf" "$work/cases.json" 1e-4 exact); then pass; else fail "llama.cpp disagrees with garden (above)"; fi
# llama.cpp's defaults round attention to f16 (measured: 1.7e-3 at most); greedy tokens still agree.
if (cd "$clients" && node llama_cpp_test.mjs "$work/lm.gguf" "$work/cases.json" 1e-2 defaults); then pass; else fail "llama.cpp at its defaults disagrees with garden (above)"; fi
# f16 weights (--dtype f16) at llama.cpp's defaults.
"$garden" export gguf --model "$work/lm" --out "$work/lm16.gguf" --dtype f16 >/dev/null 2>&1 || fail "export gguf --dtype f16"
if (cd "$clients" && node llama_cpp_test.mjs "$work/lm16.gguf" "$work/cases.json" 2e-2 defaults); then pass; else fail "llama.cpp on the f16 export disagrees with garden (above)"; fi

# Refusals: what llama.cpp cannot express, a byte-tokenizer model, someone else's file.
"$garden" lm train --train "$work/train.txt" --valid "$work/train.txt" --tokenizer "$work/tok.model" --d-model 16 --n-layers 1 \
  --n-heads 2 --attention-gate headwise --seq 16 --batch 4 --steps 2 --warmup 1 --eval-every 2 --eval-windows 2 --threads 1 \
  --out "$work/gated" >/dev/null 2>&1 || fail "lm train gated"
expect_error 2 "cannot express attention_gate=headwise" -- "$garden" export gguf --model "$work/gated" --out "$work/gated.gguf"
[ ! -e "$work/gated.gguf" ] && pass || fail "a refused export left a file"
"$garden" lm train --train "$work/train.txt" --valid "$work/train.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 16 --batch 4 \
  --steps 2 --warmup 1 --eval-every 2 --eval-windows 2 --threads 1 --out "$work/bytes" >/dev/null 2>&1 || fail "lm train bytes"
expect_error 2 "llama.cpp needs a SentencePiece one" -- "$garden" export gguf --model "$work/bytes" --out "$work/bytes.gguf"
echo "my notes" >"$work/notes.gguf"
expect_error 2 "is not an earlier GGUF export of garden" -- "$garden" export gguf --model "$work/lm" --out "$work/notes.gguf"
[ "$(cat "$work/notes.gguf")" = "my notes" ] && pass || fail "export overwrote someone else's file"
expect_error 2 "--dtype must be f32 or f16" -- "$garden" export gguf --model "$work/lm" --out "$work/x.gguf" --dtype q4
"$garden" export gguf --model "$work/lm" --out "$work/lm.gguf" --dtype f16 >/dev/null 2>&1 && pass || fail "export over its own earlier file"

report
