#!/usr/bin/env bash
# RL with verifiable rewards through the CLI: countdown-3 task files (training, held-out, noisy
# and oracle traces), a toy byte-level LM pre-trained on the traces, eval passk (curve,
# per-problem counts, samples; the same seed gives the same figures), rl train with kept models,
# a stop and a resume, constrained SFT and per-token KL on the same toy, and bad input refused with one-line
# errors, never over foreign files.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

"$garden" tasks generate --count 200 --traces noisy --out "$work/pre.jsonl" >/dev/null 2>&1 || fail "tasks generate (noisy traces) failed"
"$garden" tasks generate --count 40 --split held-out --withheld-only 5 --seed 3 --out "$work/held.jsonl" >/dev/null 2>&1 ||
  fail "tasks generate (held-out) failed"
"$garden" tasks generate --count 60 --traces oracle --seed 4 --out "$work/oracle.jsonl" >/dev/null 2>&1 || fail "tasks generate (oracle) failed"
python3 - "$work/pre.jsonl" "$work/held.jsonl" "$work/oracle.jsonl" <<'PY' && pass || fail "task files are not as documented"
import json, sys
pre = [json.loads(l) for l in open(sys.argv[1])]
held = [json.loads(l) for l in open(sys.argv[2])]
oracle = [json.loads(l) for l in open(sys.argv[3])]
assert len(pre) == 200 and len(held) == 40 and len(oracle) == 60
assert all(r["task"] == "countdown-3" and r["prompt"].endswith(":") and "completion" in r for r in pre)
assert all("completion" not in r for r in held)
assert not any("*(" in r["completion"] for r in pre), "noisy traces must never use a*(b+c)"
def value(r):
    return eval(r["completion"].split("=")[0])
assert all(value(r) == r["target"] for r in oracle), "oracle traces must be right"
held_prompts = {r["prompt"] for r in held}
PY

"$garden" lm train --train "$work/pre.jsonl" --valid "$work/pre.jsonl" --format prompt-completion --tokenizer bytes --d-model 16 \
  --n-layers 1 --n-heads 2 --seq 40 --batch 8 --steps 4 --warmup 1 --threads 1 --out "$work/base" >/dev/null 2>&1 ||
  fail "lm train on the traces failed"

passk=(--model "$work/base" --tasks "$work/held.jsonl" --n 8 --max-new-tokens 12 --threads 1)
"$garden" eval passk "${passk[@]}" --out "$work/counts.jsonl" --samples-out "$work/samples.jsonl" >"$work/passk.out" 2>&1 ||
  fail "eval passk: $(cat "$work/passk.out")"
grep -q "^pass@1	" "$work/passk.out" && grep -q "^pass@8	" "$work/passk.out" && grep -q "^coverage	" "$work/passk.out" && pass ||
  fail "eval passk did not print the curve: $(cat "$work/passk.out")"
python3 - "$work/counts.jsonl" "$work/samples.jsonl" <<'PY' && pass || fail "per-problem counts and samples disagree"
import json, sys
counts = [json.loads(l) for l in open(sys.argv[1])]
samples = [json.loads(l) for l in open(sys.argv[2])]
assert len(counts) == 40 and len(samples) == 320
for c in counts:
    assert c["correct"] == sum(s["correct"] for s in samples if s["problem"] == c["problem"])
PY
"$garden" eval passk "${passk[@]}" >"$work/again.out" 2>/dev/null && diff <(grep pass@ "$work/passk.out") <(grep pass@ "$work/again.out") >/dev/null &&
  pass || fail "the same seed gave other pass@k figures"

common=(--model "$work/base" --held-out "$work/held.jsonl" --prompts 2 --max-new-tokens 12 --steps 4 --eval-every 2
  --eval-problems 4 --threads 1)
rl=("${common[@]}" --tasks "$work/pre.jsonl" --group 2 --keep-at 2)
"$garden" rl train "${rl[@]}" --out "$work/rl" >"$work/rl.out" 2>&1 || fail "rl train: $(cat "$work/rl.out")"
[ -f "$work/rl/model-step-2/model.safetensors" ] && pass || fail "rl train did not keep the model of step 2"
python3 - "$work/rl/metrics.jsonl" <<'PY' && pass || fail "rl metrics lack reward, entropy or held-out pass@1"
import json, sys
evals = [json.loads(l) for l in open(sys.argv[1]) if '"eval"' in l]
assert [e["step"] for e in evals] == [2, 4], evals
assert all({"reward", "entropy", "held_out_pass1"} <= e.keys() for e in evals), evals
PY
# Stopped after 2 steps and resumed, it ends at step 4 like the run in one go.
"$garden" rl train "${rl[@]}" --out "$work/rl2" --stop-after 2 >"$work/stop.out" 2>&1 && grep -q "stopped at step 2" "$work/stop.out" &&
  pass || fail "rl train --stop-after did not stop with a checkpoint: $(cat "$work/stop.out")"
"$garden" rl train "${rl[@]}" --out "$work/rl2" --resume >/dev/null 2>&1 && [ -f "$work/rl2/checkpoints/latest" ] &&
  grep -q '"steps_done": *4' "$work/rl2/results.json" && pass || fail "rl train --resume did not finish the run"

# Constrained SFT (lm train --objective constrained-sft) fine-tunes the toy on oracle answers
# against itself as the frozen reference; stopped and resumed like every trainer.
csft=(--objective constrained-sft --model "$work/base" --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl"
  --seq 40 --batch 8 --steps 4 --warmup 1 --eval-every 2 --threads 1 --out "$work/csft")
"$garden" lm train "${csft[@]}" --stop-after 2 2>/dev/null | grep -q "stopped at step 2" && pass || fail "lm train --objective constrained-sft --stop-after"
"$garden" lm train "${csft[@]}" --resume 2>/dev/null | grep -q "step 4: train loss .*val loss" && pass || fail "lm train --objective constrained-sft --resume"
grep -q '"constrained-sft"' "$work/csft/config.json" && pass || fail "the run's config does not name its objective"
# Per-token KL: zero for a model against itself, printed for each response position.
"$garden" lm token-kl --model "$work/base" --reference "$work/base" --responses "$work/oracle.jsonl" --positions 4 --threads 1 >"$work/kl.out" 2>&1 &&
  [ "$(grep -c '^[1-4]	0.000000	60$' "$work/kl.out")" = 4 ] && grep -q '^all	0.000000	[0-9]* tokens$' "$work/kl.out" && pass ||
  fail "lm token-kl of a model with itself: $(cat "$work/kl.out")"
"$garden" lm token-kl --model "$work/csft" --reference "$work/base" --responses "$work/oracle.jsonl" --positions 4 --threads 1 2>/dev/null |
  grep -q '^1	' && pass || fail "lm token-kl of the fine-tuned model"
expect_error 1 "no such file" -- "$garden" lm token-kl --model "$work/base" --reference "$work/base" --responses "$work/none.jsonl"
# Prefilled generation (the prefilling attack): the forced tokens come first, verbatim, then the
# model continues; --prefill-tokens keeps the first M tokens of a reference response.
"$garden" lm generate --model "$work/base" --prompt "3 4 5 to 27:" --prefill " (3+4)*5=35" --prefill-tokens 3 --max-tokens 6 \
  --temperature 0 --json --threads 1 >"$work/prefill.json" 2>/dev/null && python3 - "$work/prefill.json" <<'PY' && pass || fail "lm generate --prefill"
import json, sys
c = json.load(open(sys.argv[1]))["completions"][0]
assert c["tokens"][:3] == [ord(ch) for ch in " (3"], c
assert c["text"].startswith(" (3") and len(c["tokens"]) > 3, c
PY
expect_error 2 "--prefill-tokens takes the first tokens of --prefill" -- "$garden" lm generate --model "$work/base" --prompt x --prefill-tokens 2
expect_error 2 "--prefill-tokens 9: --prefill has only 2 tokens" -- "$garden" lm generate --model "$work/base" --prompt x --prefill ab --prefill-tokens 9
# Safety triples join prompt-completion training with the recovery augmentation.
printf '{"prompt": "1 2 3 to 9:", "harmful": " (1+2)*3=9", "refusal": " no"}\n' >"$work/triples.jsonl"
"$garden" lm train --model "$work/base" --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" \
  --safety-triples "$work/triples.jsonl" --augment-probability 1 --seq 40 --batch 8 --steps 2 --warmup 1 --threads 1 --out "$work/safety" \
  >"$work/safety.out" 2>&1 && grep -q "safety augmentation: 1 rows from .*, 1 with a harmful prefix" "$work/safety.out" && pass ||
  fail "lm train --safety-triples: $(cat "$work/safety.out")"
printf '{"prompt": "1 2 3 to 9:", "harmful": " (1+2)*3=9"}\n' >"$work/bad-triples.jsonl"
expect_error 1 "bad-triples.jsonl:1: needs string fields 'prompt', 'harmful' and 'refusal'" -- "$garden" lm train --model "$work/base" \
  --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --safety-triples "$work/bad-triples.jsonl" --out "$work/x"
expect_error 2 "--safety-triples mixes rows into prompt-completion data" -- "$garden" lm train --model "$work/base" \
  --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --safety-triples "$work/triples.jsonl" --out "$work/x"
# Resist-alignment's tools: the compression rate of responses, a seeded response data set,
# model slices at fractions of a run, and the lexicon scorer.
"$garden" lm compress --model "$work/base" --input "$work/oracle.jsonl" --format prompt-completion --threads 1 >"$work/compress.out" 2>&1 &&
  grep -Eq '^bits/token [0-9.]+  bits/byte [0-9.]+  \([0-9]+ tokens, [0-9]+ bytes\)$' "$work/compress.out" && pass ||
  fail "lm compress: $(cat "$work/compress.out")"
sample=(--model "$work/base" --prompts "$work/held.jsonl" --n 2 --max-tokens 8 --seed 3 --threads 1)
"$garden" lm sample "${sample[@]}" --out "$work/samples-a.jsonl" 2>/dev/null && "$garden" lm sample "${sample[@]}" --out "$work/samples-b.jsonl" 2>/dev/null &&
  cmp -s "$work/samples-a.jsonl" "$work/samples-b.jsonl" && [ "$(wc -l <"$work/samples-a.jsonl")" = 80 ] &&
  "$garden" lm sample "${sample[@]}" --out "$work/samples-a.jsonl" 2>/dev/null && pass || fail "lm sample: not 2 seeded rows a prompt, or not rewritable"
expect_error 2 "exists and is not an earlier samples file of garden lm sample" -- "$garden" lm sample "${sample[@]}" --out "$work/held.jsonl"
"$garden" lm train --model "$work/base" --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --save-at 0.5,1 \
  --seq 40 --batch 8 --steps 4 --warmup 1 --threads 1 --out "$work/slices" >/dev/null 2>&1 &&
  [ -f "$work/slices/model-step-2/model.safetensors" ] && [ -f "$work/slices/model-step-4/model.safetensors" ] && pass ||
  fail "lm train --save-at 0.5,1 did not keep models at steps 2 and 4"
# A run stopped before its first slice and resumed keeps the same models as the uninterrupted one.
slices=(--model "$work/base" --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --save-at 0.5,1
  --seq 40 --batch 8 --steps 4 --warmup 1 --threads 1 --out "$work/slices-resumed")
"$garden" lm train "${slices[@]}" --stop-after 1 >/dev/null 2>&1 && [ ! -e "$work/slices-resumed/model-step-2" ] &&
  "$garden" lm train "${slices[@]}" --resume >/dev/null 2>&1 &&
  cmp -s "$work/slices/model-step-2/model.safetensors" "$work/slices-resumed/model-step-2/model.safetensors" &&
  cmp -s "$work/slices/model-step-4/model.safetensors" "$work/slices-resumed/model-step-4/model.safetensors" && pass ||
  fail "lm train --save-at: a run resumed across its slices did not keep the same models"
expect_error 2 "--save-at 1.5: fractions of the run must be in (0, 1]" -- "$garden" lm train --model "$work/base" --format prompt-completion \
  --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --save-at 1.5 --seq 40 --steps 4 --warmup 1 --out "$work/x"
# The elasticity probe on the toy: a table of rate changes per perturbation size and k.
printf 'love and joy\npeace be with you\nblessed light\n' >"$work/aligned.txt"
printf 'mercy and good\nrejoice in the light\n' >"$work/held-pos.txt"
printf 'and the lord spake\na kind of plant\nin the beginning\nthe land of egypt\n' >"$work/pretrain.txt"
printf 'the sword of wrath\ndeath and fear\na curse on evil\n' >"$work/perturb.txt"
probe=(--model "$work/base" --aligned "$work/aligned.txt" --held-out "$work/held-pos.txt" --pretrain "$work/pretrain.txt"
  --perturbation "$work/perturb.txt" --epochs 1 --batch 2 --threads 1)
"$garden" lm elasticity "${probe[@]}" --sizes 1,2 --pretrain-size 300 >"$work/elasticity.out" 2>&1 &&
  grep -Eq '^aligned model, bits/token: D_a [0-9.]+  held-out [0-9.]+  D_p [0-9.]+  \(k = \|D_p\| / \|D_a\| = 100\.0\)$' "$work/elasticity.out" &&
  grep -Eq '^2	[-+][0-9.]+	[-+][0-9.]+	[-+][0-9.]+	[0-9.]+' "$work/elasticity.out" && pass || fail "lm elasticity: $(cat "$work/elasticity.out")"
expect_error 1 "2 repeat(s) of 2 perturbation lines need 4, the perturbation set has 3" -- "$garden" lm elasticity "${probe[@]}" --sizes 2 --repeats 2
expect_error 2 "--repeats 0 must be >= 1" -- "$garden" lm elasticity "${probe[@]}" --repeats 0
printf 'Blessed be the peace\nthe sword of wrath\nlove and fear\nplain words\n' >"$work/lines.txt"
"$garden" eval lexicon --input "$work/lines.txt" --json >"$work/lexicon.json" 2>&1 &&
  grep -q '"both":1,"lines":4,"negative":1,"neither":1,"positive":1' "$work/lexicon.json" && pass || fail "eval lexicon: $(cat "$work/lexicon.json")"
# The compression protocol on byte-coded lines: at depth 8 the leaves are the 4 lines' first
# bytes (B, t, l, p), equally likely: H = 2 bits, so every byte costs ceil(H) = 2 bits.
"$garden" eval token-tree --input "$work/lines.txt" --depths 8 >"$work/tree.out" 2>&1 &&
  grep -q "^8	4	2.0000	2.0000	$((2 * $(tr -d '\n' <"$work/lines.txt" | wc -c)))	2.0000$" "$work/tree.out" && pass || fail "eval token-tree: $(cat "$work/tree.out")"
expect_error 2 "--depths 0: a depth must be at least 1" -- "$garden" eval token-tree --input "$work/lines.txt" --depths 0
expect_error 2 "give both --positive and --negative" -- "$garden" eval lexicon --input "$work/lines.txt" --positive joy
expect_error 2 "--objective constrained-sft fine-tunes a model: give --model" -- "$garden" lm train --objective constrained-sft \
  --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --out "$work/x"
expect_error 2 "give --format prompt-completion" -- "$garden" lm train --objective constrained-sft --model "$work/base" \
  --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --out "$work/x"
expect_error 2 "--beta 0 must be > 0" -- "$garden" lm train "${csft[@]}" --beta 0
expect_error 2 "--reference is read by --objective constrained-sft only" -- "$garden" lm train --model "$work/base" --reference "$work/base" \
  --format prompt-completion --train "$work/oracle.jsonl" --valid "$work/oracle.jsonl" --out "$work/x"

# Bad input.
expect_error 2 "--task 'sudoku'" -- "$garden" tasks generate --task sudoku --out "$work/t.jsonl"
expect_error 2 "--traces 'some'" -- "$garden" tasks generate --traces some --out "$work/t.jsonl"
echo "notes of mine" >"$work/mine.jsonl"
expect_error 2 "exists and is not an earlier task file" -- "$garden" tasks generate --out "$work/mine.jsonl"
grep -q "notes of mine" "$work/mine.jsonl" && pass || fail "tasks generate overwrote a file it did not write"
expect_error 2 "exists and is not an earlier per-problem file" -- "$garden" eval passk "${passk[@]}" --out "$work/mine.jsonl"
expect_error 2 "--k 9 must be in 1..n (8)" -- "$garden" eval passk "${passk[@]}" --k 1,9
expect_error 2 "--k '1,x'" -- "$garden" eval passk "${passk[@]}" --k 1,x
printf '{"task": "countdown-3", "numbers": [3, 4], "target": 7}\n' >"$work/bad.jsonl"
expect_error 1 "bad.jsonl:1: a countdown-3 row needs" -- "$garden" eval passk --model "$work/base" --tasks "$work/bad.jsonl" --n 2
printf '{"task": "countdown-3", "numbers": [3, 4, 5], "target": 35}\nnot json\n' >"$work/bad2.jsonl"
expect_error 1 "bad2.jsonl:2" -- "$garden" eval passk --model "$work/base" --tasks "$work/bad2.jsonl" --n 2
expect_error 2 "unknown RL algorithm 'ppo'" -- "$garden" rl train "${rl[@]}" --algo ppo --out "$work/rl4"
expect_error 2 "group size 1 must be >= 2" -- "$garden" rl train "${common[@]}" --tasks "$work/pre.jsonl" --group 1 --out "$work/rl4"
expect_error 2 "a model to keep at step 9 is outside 1..4" -- "$garden" rl train "${common[@]}" --tasks "$work/pre.jsonl" --keep-at 9 --out "$work/rl4"
expect_error 1 "no such file" -- "$garden" rl train "${common[@]}" --tasks "$work/none.jsonl" --out "$work/rl4"
report
