#!/usr/bin/env bash
# Reproducers of data loss and silently wrong results, end to end through the garden binary:
# each case checks a guarantee stated in docs/reliability.md.
set -u
garden="$1"
source "$(dirname "$0")/helpers.sh"

# A five-document collection.
mkdir -p "$work/c5/qrels"
for i in 1 2 3 4 5; do echo "{\"_id\": \"d$i\", \"text\": \"wing lift drag number $i\"}"; done >"$work/c5/corpus.jsonl"
printf '{"_id": "q1", "text": "lift"}\n{"_id": "q2", "text": "drag"}\n' >"$work/c5/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n' >"$work/c5/qrels/test.tsv"

# --out: someone else's folder, a file, the input itself, another command's output are refused
# and left as they were; a command's own earlier output is replaced.
mkdir -p "$work/d/sub" && echo x >"$work/d/notes.txt"
expect_error 2 "--out $work/d already holds files that garden did not write there" -- "$garden" index build --corpus "$work/c5" --out "$work/d"
expect_error 2 "--out $work/d already holds files" -- "$garden" index build --kind flat --vectors "$work/none.npy" --corpus "$work/c5" --out "$work/d"
expect_error 2 "--out $work/d already holds files" -- "$garden" limit gen --pattern disjoint --queries 5 --docs 10 --out "$work/d"
expect_error 2 "--out $work/d already holds files" -- "$garden" data prepare --out "$work/d"
expect_error 2 "--out $work/d already holds files" -- "$garden" lm train --train "$work/c5/corpus.jsonl" --valid "$work/c5/corpus.jsonl" \
  --seq 16 --out "$work/d"
[ "$(cat "$work/d/notes.txt")" = x ] && [ -d "$work/d/sub" ] && [ "$(ls -A "$work/d" | wc -l)" -eq 2 ] && pass || fail "a refused --out was changed"
echo x >"$work/file"
expect_error 2 "--out $work/file is a file, not a folder" -- "$garden" index build --corpus "$work/c5" --out "$work/file"
[ "$(cat "$work/file")" = x ] && pass || fail "--out FILE was changed"
expect_error 2 "--out $work/c5 is or holds --corpus $work/c5" -- "$garden" index build --corpus "$work/c5" --out "$work/c5"
expect_error 2 "is or holds --corpus" -- "$garden" index build --corpus "$work/c5" --out "$work/"
[ -s "$work/c5/corpus.jsonl" ] && pass || fail "--corpus X --out X touched the collection"
"$garden" limit gen --pattern disjoint --queries 5 --docs 10 --out "$work/gen" >/dev/null 2>&1 || fail "limit gen"
"$garden" limit gen --pattern disjoint --queries 5 --docs 12 --out "$work/gen" >/dev/null 2>&1 &&
  [ "$(wc -l <"$work/gen/corpus.jsonl")" -eq 12 ] && pass || fail "limit gen could not replace its own output"
expect_error 2 "holds the output of 'garden limit gen', not of 'garden index build'" -- "$garden" index build --corpus "$work/c5" --out "$work/gen"
"$garden" index build --corpus "$work/c5" --out "$work/idx" >/dev/null 2>&1 && "$garden" index build --corpus "$work/c5" --out "$work/idx" \
  --k1 1.2 >/dev/null 2>&1 && grep -q '"k1": 1.2' "$work/idx/manifest.json" && pass || fail "index build could not replace its own index"

# Runs: a document twice for a query, NaN scores, folders, empty files and runs that share no
# query with the qrels are refused with the file (and line) named.
printf 'q1 Q0 d1 1 2.0 x\nq1 Q0 d2 2 1.0 x\nq1 Q0 d1 3 0.5 x\n' >"$work/dup.run"
expect_error 1 "dup.run:3: document 'd1' is listed twice for query 'q1' (first on line 1)" -- "$garden" eval retrieval --run "$work/dup.run" --qrels "$work/c5/qrels/test.tsv"
expect_error 1 "dup.run:3: document 'd1' is listed twice" -- "$garden" fuse --run "$work/dup.run" --run "$work/dup.run" --out "$work/f.run"
printf 'q1 Q0 d1 1 nan x\n' >"$work/nan.run"
expect_error 1 "nan.run:1: score 'nan' is not a finite number" -- "$garden" eval retrieval --run "$work/nan.run" --qrels "$work/c5/qrels/test.tsv"
printf 'q1 Q0 d1 1 2.0 x\nq2 Q0 d2 1 1.0 x\n' >"$work/ok.run"
expect_error 2 "--k must be a finite number >= 0, got nan" -- "$garden" fuse --run "$work/ok.run" --run "$work/ok.run" --k nan --out "$work/f.run"
[ -e "$work/f.run" ] && fail "a refused fuse wrote $work/f.run" || pass
expect_error 1 "$work/c5 is a folder, not a file" -- "$garden" eval retrieval --run "$work/c5" --qrels "$work/c5/qrels/test.tsv"
expect_error 1 "$work/c5/qrels is a folder, not a file" -- "$garden" eval retrieval --run "$work/ok.run" --qrels "$work/c5/qrels"
: >"$work/empty.run"
expect_error 1 "empty.run: no run lines" -- "$garden" eval retrieval --run "$work/empty.run" --qrels "$work/c5/qrels/test.tsv"
printf 'query-id\tcorpus-id\tscore\n' >"$work/empty.tsv"
expect_error 1 "empty.tsv: no judgements" -- "$garden" eval retrieval --run "$work/ok.run" --qrels "$work/empty.tsv"
printf 'q7 Q0 d1 1 2.0 x\n' >"$work/other.run"
expect_error 1 "the run and the qrels share no query id" -- "$garden" eval retrieval --run "$work/other.run" --qrels "$work/c5/qrels/test.tsv"
printf 'd1\nd2\nd1\n' >"$work/ids.txt"
/usr/bin/python3 -c "import numpy as np; np.save('$work/v3.npy', np.ones((3, 4), dtype=np.float32))" 2>/dev/null
expect_error 1 "ids.txt:3: document id 'd1' is given twice (first on line 1)" -- "$garden" index build --kind flat --vectors "$work/v3.npy" --ids "$work/ids.txt" --out "$work/flat"

# Long terms: a 300-byte run of letters is skipped (and counted), not a crash.
mkdir -p "$work/long/qrels"
printf '{"_id": "d1", "text": "wing %s"}\n' "$(head -c 300 /dev/zero | tr '\0' a)" >"$work/long/corpus.jsonl"
printf '{"_id": "q1", "text": "wing"}\n' >"$work/long/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\n' >"$work/long/qrels/test.tsv"
"$garden" index build --corpus "$work/long" --out "$work/long_idx" >/dev/null 2>&1 &&
  grep -q '"occurrences": 1' "$work/long_idx/manifest.json" && pass || fail "index build with a 300-byte term"

# Configs: unknown keys and non-integral integers name the key.
head -c 20000 /dev/urandom | base64 >"$work/tr.txt"
T=(--train "$work/tr.txt" --valid "$work/tr.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 16 --batch 4 --warmup 1 --eval-windows 4 --threads 1)
echo '{"model": {"d_modle": 16}}' >"$work/typo.json"
expect_error 1 "typo.json model: unknown field 'd_modle'" -- "$garden" lm train --config "$work/typo.json" --steps 2 --train "$work/tr.txt" --valid "$work/tr.txt" --out "$work/x"
echo '{"model": {"d_model": 16.7}}' >"$work/frac.json"
expect_error 1 "frac.json model: field 'd_model' must be an integer, got 16.7" -- "$garden" lm train --config "$work/frac.json" --steps 2 --train "$work/tr.txt" --valid "$work/tr.txt" --out "$work/x"
echo '{"modle": {}}' >"$work/top.json"
expect_error 1 "top.json: unknown field 'modle'" -- "$garden" lm train --config "$work/top.json" --out "$work/x"

# Training runs: a shorter fresh run into an old run's folder, resume of a finished run,
# resume with changed settings, stale staging folders, and a second writer.
"$garden" lm train "${T[@]}" --steps 20 --checkpoint-every 5 --out "$work/r" >/dev/null 2>&1 || fail "lm train (20 steps)"
"$garden" lm train "${T[@]}" --steps 10 --checkpoint-every 5 --out "$work/r" >/dev/null 2>&1 &&
  [ "$(cat "$work/r/checkpoints/latest")" = step_00000010 ] && [ -d "$work/r/checkpoints/step_00000010" ] &&
  [ ! -e "$work/r/checkpoints/step_00000020" ] && pass || fail "a shorter run into an old run's folder: $(ls "$work/r/checkpoints")"
cp "$work/r/results.json" "$work/results.before"
"$garden" lm train "${T[@]}" --steps 10 --checkpoint-every 5 --out "$work/r" --resume >/dev/null 2>&1 &&
  cmp -s "$work/r/results.json" "$work/results.before" && pass || fail "--resume of a finished run changed results.json"
expect_error 2 "lr 0.003 -> 0.01" -- "$garden" lm train "${T[@]}" --steps 10 --checkpoint-every 5 --out "$work/r" --resume --lr 0.01
expect_error 2 "seed 0 -> 3" -- "$garden" lm train "${T[@]}" --steps 10 --checkpoint-every 5 --out "$work/r" --resume --seed 3
expect_error 2 "steps 10 -> 8 (a resume may only lengthen the run)" -- "$garden" lm train "${T[@]}" --steps 8 --out "$work/r" --resume
"$garden" lm train "${T[@]}" --steps 15 --checkpoint-every 5 --out "$work/r" --resume >/dev/null 2>&1 &&
  grep -q '"steps":{"from":10,"to":15}' <(tr -d ' \n' <"$work/r/config.json") && pass || fail "a longer --steps on resume is not recorded"
"$garden" lm train "${T[@]}" --steps 30 --checkpoint-every 5 --keep-checkpoints 2 --stop-after 10 --out "$work/k" >/dev/null 2>&1 || fail "lm train --stop-after"
mkdir -p "$work/k/checkpoints/step_00000020.tmp-999999-0" "$work/k/checkpoints/step_00000020.tmp-999999-1"
"$garden" lm train "${T[@]}" --steps 30 --checkpoint-every 5 --keep-checkpoints 2 --stop-after 5 --out "$work/k" --resume >/dev/null 2>&1 &&
  [ "$(ls "$work/k/checkpoints" | tr '\n' ' ')" = "latest step_00000010 step_00000015 " ] && pass || fail "stale staging: $(ls "$work/k/checkpoints")"
"$garden" lm train "${T[@]}" --steps 30 --checkpoint-every 5 --keep-checkpoints 2 --out "$work/k" --resume >/dev/null 2>&1 && pass ||
  fail "resume after stale staging"
if command -v flock >/dev/null; then  # this shell holds the run's lock as a live trainer would
  exec 9>"$work/k/lock"
  flock -n 9 || fail "flock"
  expect_error 1 "$work/k is in use: process" -- "$garden" lm train "${T[@]}" --steps 30 --out "$work/k" --resume
  exec 9>&-
fi
echo 999999 >"$work/k/lock"
"$garden" lm train "${T[@]}" --steps 35 --checkpoint-every 5 --keep-checkpoints 2 --out "$work/k" --resume >/dev/null 2>&1 &&
  [ ! -e "$work/k/lock" ] && pass || fail "a stale lock was not taken over"

# Ctrl-C: the trainer checkpoints and the command exits 130, so `train && eval` stops; a
# --stop-after stop exits 0. The signal is sent once training has begun (metrics.jsonl), as
# before the handler is installed a background job ignores SIGINT.
"$garden" lm train "${T[@]}" --steps 1000000 --checkpoint-every 0 --log-every 1 --out "$work/int" >"$work/int.out" 2>&1 &
trainer=$!
for _ in $(seq 600); do [ -s "$work/int/metrics.jsonl" ] && break; sleep 0.1; done
kill -INT "$trainer"
wait "$trainer"
rc=$?
[ "$rc" -eq 130 ] && grep -q "stopped at step" "$work/int.out" && [ -f "$work/int/checkpoints/$(cat "$work/int/checkpoints/latest")/model.safetensors" ] &&
  pass || fail "Ctrl-C during training: exit $rc, $(cat "$work/int.out"), checkpoints: $(ls "$work/int/checkpoints")"
"$garden" lm train "${T[@]}" --steps 1000000 --checkpoint-every 0 --log-every 1 --out "$work/int" --resume --stop-after 1 >/dev/null 2>&1 &&
  pass || fail "--resume --stop-after 1 after Ctrl-C did not exit 0"

# lm eval --batch 0 used to loop forever.
expect_error 2 "--batch must be >= 1, got 0" -- timeout 60 "$garden" lm eval --model "$work/r" --input "$work/tr.txt" --batch 0 --threads 1

report
