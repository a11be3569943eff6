#!/usr/bin/env bash
# Crash safety (docs/reliability.md): `lm train`, `embed train` and `index build` (bm25, flat)
# are killed with SIGKILL at seeded pseudo-random moments, checkpoint writes included, then
# resumed or rebuilt. After every kill the output is complete (the latest checkpoint exists,
# the old index still answers); at the end the result equals an uninterrupted run's, no
# staging is left behind and no checkpoint was lost. GARDEN_CRASH_SEED picks other moments.
set -u
garden="$1"
source "$(dirname "$0")/helpers.sh"
RANDOM=${GARDEN_CRASH_SEED:-13}
kills=0
checkpoint_kills=0

# kill_at_random MS command...: starts the command, SIGKILLs it after a pseudo-random
# delay below MS milliseconds (unless it ended first), and waits for it; counts the kills.
kill_at_random() {
  local ms=$((RANDOM % $1))
  shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ $? -eq 137 ] && kills=$((kills + 1))
}

staging_in() { find "$@" -name '*.tmp-*' 2>/dev/null | head -1; }

# step of RUN's latest checkpoint (0 when none), failing the check when `latest` names a
# folder that is missing or incomplete.
latest_step() {
  local run="$1"
  [ -f "$run/checkpoints/latest" ] || { echo 0; return; }
  local name
  name=$(cat "$run/checkpoints/latest")
  [ -f "$run/checkpoints/$name/model.safetensors" ] || { fail "$run: latest names $name, which is missing or incomplete"; echo 0; return; }
  echo $((10#${name#step_}))
}

# figures of a results.json that do not depend on time
figures() { /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["steps_done"], r["train_loss"], r.get("val_loss"))' "$1"; }

# crash_train NAME STEPS MS command...: kills the training command (run folder
# $work/NAME, --resume once a checkpoint exists) until it has been killed at least 4 times,
# once during a checkpoint write, or 12 attempts; then resumes to the end and compares with
# $work/NAME_ref, trained in one go.
crash_train() {
  local name="$1" steps="$2" ms="$3"
  shift 3
  local run="$work/$name" before=0 attempt step resume
  "$@" --out "$work/${name}_ref" >/dev/null 2>&1 || fail "$name: the uninterrupted run failed"
  local own_kills=0 own_checkpoint_kills=0
  for attempt in $(seq 12); do
    resume=()
    [ -f "$run/checkpoints/latest" ] && resume=(--resume)
    local counted=$kills
    kill_at_random "$ms" "$@" --out "$run" "${resume[@]}"
    if [ "$kills" -gt "$counted" ]; then
      own_kills=$((own_kills + 1))
      [ -n "$(staging_in "$run/checkpoints")" ] && own_checkpoint_kills=$((own_checkpoint_kills + 1))
    fi
    step=$(latest_step "$run")
    [ "$step" -ge "$before" ] || fail "$name: a checkpoint was lost: latest went from step $before to $step"
    before=$step
    [ "$step" -lt "$steps" ] || break
    [ "$own_kills" -ge 4 ] && [ "$own_checkpoint_kills" -ge 1 ] && break
  done
  checkpoint_kills=$((checkpoint_kills + own_checkpoint_kills))
  resume=()
  [ -f "$run/checkpoints/latest" ] && resume=(--resume)
  "$@" --out "$run" "${resume[@]}" >/dev/null 2>&1 || fail "$name: the run after $own_kills kills did not finish"
  local last="checkpoints/step_$(printf '%08d' "$steps")/model.safetensors"
  cmp -s "$run/$last" "$work/${name}_ref/$last" && pass || fail "$name: weights differ from the uninterrupted run's"
  [ "$(figures "$run/results.json")" = "$(figures "$work/${name}_ref/results.json")" ] && pass ||
    fail "$name: results.json $(figures "$run/results.json") differs from $(figures "$work/${name}_ref/results.json")"
  [ -z "$(staging_in "$run")" ] && pass || fail "$name: staging left behind: $(staging_in "$run")"
  echo "$name: $own_kills kills, $own_checkpoint_kills during a checkpoint write"
}

head -c 20000 /dev/urandom | base64 >"$work/tr.txt"
T=(--train "$work/tr.txt" --valid "$work/tr.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 16 --batch 4 --warmup 1
  --eval-windows 4 --threads 1)
# A checkpoint every step, so that many kills land in a checkpoint write.
crash_train lm 40 1500 "$garden" lm train "${T[@]}" --steps 40 --checkpoint-every 1 --keep-checkpoints 2

# A collection, and an embedding model on the LM for the dense index and embed train.
mkdir -p "$work/c/qrels"
for i in $(seq 400); do
  printf '{"_id": "d%s", "title": "study %s of wings", "text": "the body of document %s talks about lift drag %s and flow %s"}\n' \
    "$i" "$i" "$i" "$((i % 17))" "$((i % 5))"
done >"$work/c/corpus.jsonl"
printf '{"_id": "q1", "text": "lift drag 3"}\n{"_id": "q2", "text": "flow 4 wings"}\n' >"$work/c/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td3\t1\nq2\td4\t1\n' >"$work/c/qrels/test.tsv"
"$garden" embed init --model "$work/lm" --pooler mean --out "$work/emb" >/dev/null 2>&1 || fail "embed init"
"$garden" embed pairs --collection "$work/c" --negatives 1 --held-out 8 --eval-out "$work/pairs_eval.jsonl" \
  --out "$work/pairs.jsonl" >/dev/null 2>&1 || fail "embed pairs"
crash_train embed 12 1500 "$garden" embed train --model "$work/emb" --train "$work/pairs.jsonl" --eval "$work/pairs_eval.jsonl" \
  --steps 12 --batch 4 --warmup 1 --threads 1 --checkpoint-every 1 --keep-checkpoints 2

# crash_index NAME MS build-flags...: an index built once is rebuilt under kills; after
# each kill the index at the path still answers as before, and the final rebuild searches
# exactly like an index built in one go.
crash_index() {
  local name="$1" ms="$2"
  shift 2
  local idx="$work/$name" attempt
  "$garden" index build "$@" --out "$work/${name}_ref" >/dev/null 2>&1 || fail "$name: the uninterrupted build failed"
  "$garden" search --index "$work/${name}_ref" --queries "$work/c" --run "$work/${name}_ref.run" "${search[@]}" >/dev/null 2>&1
  "$garden" index build "$@" --out "$idx" >/dev/null 2>&1 || fail "$name: the first build failed"
  local own_kills=$kills
  for attempt in $(seq 5); do
    kill_at_random "$ms" "$garden" index build "$@" --out "$idx"
    "$garden" search --index "$idx" --queries "$work/c" --run "$work/$name.run" "${search[@]}" >/dev/null 2>&1 &&
      cmp -s "$work/$name.run" "$work/${name}_ref.run" && pass || fail "$name: no complete index after a kill"
  done
  "$garden" index build "$@" --out "$idx" >/dev/null 2>&1 || fail "$name: the rebuild after the kills failed"
  "$garden" search --index "$idx" --queries "$work/c" --run "$work/$name.run" "${search[@]}" >/dev/null 2>&1 &&
    cmp -s "$work/$name.run" "$work/${name}_ref.run" && pass || fail "$name: the rebuilt index searches differently"
  [ -z "$(find "$work" -maxdepth 1 \( -name "$name.tmp-*" -o -name "$name.old-*" \))" ] && pass ||
    fail "$name: staging left behind: $(ls "$work")"
  echo "$name: $((kills - own_kills)) kills"
}
search=()
crash_index bm25 800 --corpus "$work/c"
search=(--model "$work/emb")
crash_index flat 1500 --kind flat --model "$work/emb" --corpus "$work/c"

# Where a kill lands depends on the machine's load as well as the seed, so the count of kills
# during a checkpoint write is reported, not required: every kill, wherever it landed, was
# checked above (a complete latest checkpoint, equal results after the resume).
echo "$kills kills, $checkpoint_kills during a checkpoint write"
report
