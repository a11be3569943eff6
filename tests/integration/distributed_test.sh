#!/usr/bin/env bash
# Data-parallel training and sharded work through the garden binary, two or three ranks on
# loopback: garden launch with per-rank batch B follows one process with batch 2B (lm train
# and embed train, loss by loss), resumes with its world size and refuses another, names a
# killed rank; sharded encoding and indexing give the unsharded index's search results.
set -u
garden="$1"
source "$(dirname "$0")/helpers.sh"

# Loss by loss, |a - b| <= tolerance over the train lines of two runs' metrics.jsonl.
same_losses() {
  local a="$1" b="$2" tolerance="$3"
  paste <(grep '"kind":"train"' "$a/metrics.jsonl" | sed 's/.*"loss":\([^,}]*\).*/\1/') \
    <(grep '"kind":"train"' "$b/metrics.jsonl" | sed 's/.*"loss":\([^,}]*\).*/\1/') |
    awk -v tol="$tolerance" 'NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; if (d > tol) bad = 1; n++ } END { exit (bad || n == 0) }'
}

for i in $(seq 1 400); do echo "line $i of a corpus about wings, lift and flow number $((i * 7 % 13))"; done >"$work/train.txt"
head -60 "$work/train.txt" >"$work/valid.txt"
tiny_lm=(--train "$work/train.txt" --valid "$work/valid.txt" --d-model 32 --n-layers 1 --n-heads 2 --seq 32 --warmup 2 --log-every 1
  --eval-every 0 --eval-windows 4)
lm=("${tiny_lm[@]}" --checkpoint-every 5)
"$garden" lm train "${lm[@]}" --steps 20 --batch 8 --threads 1 --out "$work/one" >/dev/null 2>&1 || fail "lm train in one process"
"$garden" launch --nproc 2 -- lm train "${lm[@]}" --steps 20 --batch 4 --out "$work/two" >"$work/two.out" 2>&1 ||
  fail "launch --nproc 2 -- lm train: $(cat "$work/two.out")"
same_losses "$work/one" "$work/two" 1e-5 && pass || fail "2 ranks x batch 4 do not follow 1 process x batch 8: $(paste "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" | head -3)"
grep -q '"world_size": 2' "$work/two/checkpoints/step_00000020/state.json" && pass || fail "the checkpoint does not record the world size"
[ "$(grep -c 'step 20: train loss' "$work/two.out")" -eq 1 ] && pass || fail "rank 0 alone should report: $(cat "$work/two.out")"

# Resume: the same world size continues (and still follows one process); another is refused.
"$garden" lm train "${lm[@]}" --steps 24 --batch 8 --threads 1 --out "$work/one" --resume >/dev/null 2>&1 || fail "lm train --resume"
"$garden" launch --nproc 2 -- lm train "${lm[@]}" --steps 24 --batch 4 --out "$work/two" --resume >/dev/null 2>&1 || fail "launch ... --resume"
same_losses "$work/one" "$work/two" 1e-5 && pass || fail "the resumed 2-rank run left the 1-process curve"
expect_error 2 "was trained by 2 ranks; resume it with the same world size, not 1" -- "$garden" lm train "${lm[@]}" --steps 26 --batch 4 --threads 1 --out "$work/two" --resume

# hurt_rank_1 SIGNAL NAME TIMEOUT FLAGS...: a long 2-rank run in $work/NAME, rank 1 sent SIGNAL
# once training runs; waits up to TIMEOUT seconds for garden launch to end and sets rc and
# victim (rank 1's pid). A launch still running then is a failure, and is killed.
hurt_rank_1() {
  local signal="$1" name="$2" timeout="$3"
  shift 3
  "$garden" launch --nproc 2 "$@" -- lm train "${tiny_lm[@]}" --steps 100000 --batch 4 --out "$work/$name" ${dist_flags[@]+"${dist_flags[@]}"} \
    >"$work/$name.out" 2>&1 &
  local launcher=$!
  for _ in $(seq 1 300); do [ -s "$work/$name/metrics.jsonl" ] && break; sleep 0.1; done
  victim=""
  for child in $(pgrep -P "$launcher"); do tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -qx "RANK=1" && victim=$child; done
  [ -n "$victim" ] && kill "-$signal" "$victim"
  for _ in $(seq 1 $((timeout * 10))); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$launcher" 2>/dev/null; then
    fail "the job still runs $timeout s after rank 1 got SIG$signal"
    pkill -9 -P "$launcher"
    kill -9 "$launcher"
  fi
  wait "$launcher"
  rc=$?
}

# A rank killed mid-run: the job ends, naming it, instead of hanging.
dist_flags=()
hurt_rank_1 KILL killed 30 --grace 20
[ "$rc" -eq 137 ] && grep -q "launch: rank 1 (pid $victim) was killed by signal 9" "$work/killed.out" &&
  grep -q "garden: error: rank 0: the .* across 2 ranks failed: rank 1 stopped" "$work/killed.out" && pass ||
  fail "a killed rank: exit $rc, $(tr '\r' '\n' <"$work/killed.out" | grep -v '^train')"

# A frozen rank (SIGSTOP): the other gives up after --dist-timeout, naming it, and launch
# stops the frozen one (SIGKILL reaches a stopped process) instead of waiting for ever.
dist_flags=(--dist-timeout 3)
hurt_rank_1 STOP frozen 60 --grace 1
[ "$rc" -ne 0 ] && grep -q "garden: error: rank 0: the .* across 2 ranks failed: rank 1 stopped (killed, or frozen" "$work/frozen.out" &&
  ! kill -0 "$victim" 2>/dev/null && pass || fail "a frozen rank: exit $rc, $(tr '\r' '\n' <"$work/frozen.out" | grep -v '^train')"

# Ctrl-C (SIGINT to garden launch, which forwards it): both ranks stop at the same step with a
# checkpoint and exit 130; the run resumes on 2 ranks from there.
"$garden" launch --nproc 2 -- lm train "${tiny_lm[@]}" --steps 100000 --batch 4 --out "$work/stopped" >"$work/stopped.out" 2>&1 &
launcher=$!
for _ in $(seq 1 300); do [ -s "$work/stopped/metrics.jsonl" ] && break; sleep 0.1; done
kill -INT "$launcher"
wait "$launcher"
rc=$?
stopped_at=$(sed 's/step_0*//' "$work/stopped/checkpoints/latest" 2>/dev/null)
[ "$rc" -eq 130 ] && [ -n "$stopped_at" ] && grep -q "stopped at step $stopped_at with a checkpoint" "$work/stopped.out" && pass ||
  fail "Ctrl-C of a 2-rank run: exit $rc, checkpoint '$stopped_at': $(tr '\r' '\n' <"$work/stopped.out" | grep -v '^train')"
"$garden" launch --nproc 2 -- lm train "${tiny_lm[@]}" --steps 100000 --batch 4 --out "$work/stopped" --resume --stop-after 2 >/dev/null 2>&1 &&
  [ "$(sed 's/step_0*//' "$work/stopped/checkpoints/latest")" -eq $((stopped_at + 2)) ] && pass || fail "resuming the Ctrl-C'd 2-rank run"

expect_error 2 "--rank must be in 0..1 for a world of 2, got 2" -- "$garden" lm train "${lm[@]}" --world-size 2 --rank 2 --out "$work/x"
expect_error 2 "--master must be HOST:PORT" -- "$garden" lm train "${lm[@]}" --world-size 2 --rank 0 --master nohost --out "$work/x"
expect_error 1 "rank 1 never joined within 1 s" -- "$garden" lm train "${lm[@]}" --world-size 2 --rank 0 --master 127.0.0.1:$((20000 + RANDOM % 20000)) --dist-timeout 1 --out "$work/x"
expect_error 2 "--nproc must be in 1..65536, got 0" -- "$garden" launch --nproc 0 -- lm train
expect_error 2 "--master must be HOST:PORT" -- "$garden" launch --nproc 2 --master node0:http -- lm train

# Contrastive training: in-batch negatives gathered from both ranks, as one process's batch.
mkdir -p "$work/coll/qrels"
for i in $(seq 1 16); do
  printf '{"_id": "d%s", "title": "study %s of wings", "text": "document %s is about lift, drag and flow regime %s"}\n' "$i" "$i" "$i" "$((i % 5))"
done >"$work/coll/corpus.jsonl"
printf '{"_id": "q1", "text": "lift and drag"}\n{"_id": "q2", "text": "flow regime 3"}\n' >"$work/coll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n' >"$work/coll/qrels/test.tsv"
"$garden" embed init --model "$work/one" --pooler mean --out "$work/emb" >/dev/null 2>&1 || fail "embed init"
"$garden" embed pairs --collection "$work/coll" --negatives 1 --out "$work/pairs.jsonl" >/dev/null 2>&1 || fail "embed pairs"
embed=(--model "$work/emb" --train "$work/pairs.jsonl" --hard-negatives 1 --steps 6 --warmup 1 --log-every 1 --eval-every 0)
"$garden" embed train "${embed[@]}" --batch 8 --threads 1 --out "$work/e1" >/dev/null 2>&1 || fail "embed train in one process"
"$garden" launch --nproc 2 -- embed train "${embed[@]}" --batch 4 --out "$work/e2" >"$work/e2.out" 2>&1 || fail "launch embed train: $(cat "$work/e2.out")"
same_losses "$work/e1" "$work/e2" 1e-4 && pass || fail "2 ranks x 4 pairs do not follow 1 process x 8 pairs"

# Sharded encoding: the shards' rows are the unsharded encoding's (to rounding: batches pad
# differently), their concatenation indexes as one matrix, and flat shards searched as one
# give that index's run. BM25 built in three shards searches as the whole collection.
"$garden" embed encode --model "$work/e1" --input "$work/coll" --out "$work/v.npy" >/dev/null 2>&1 || fail "embed encode"
"$garden" launch --nproc 2 -- embed encode --model "$work/e1" --input "$work/coll" --out "$work/v.npy" >"$work/enc.out" 2>&1 &&
  grep -q "texts 9..16 of 16" "$work/enc.out" && pass || fail "sharded embed encode: $(cat "$work/enc.out")"
"$garden" embed encode --model "$work/e1" --input "$work/coll" --side queries --out "$work/q.npy" >/dev/null 2>&1
"$garden" index build --kind flat --corpus "$work/coll" --vectors "$work/v.npy" --out "$work/flat" >/dev/null 2>&1
"$garden" index build --kind flat --corpus "$work/coll" --vectors "$work/v.shard-0-of-2.npy" --vectors "$work/v.shard-1-of-2.npy" \
  --out "$work/flat_cat" >/dev/null 2>&1 || fail "index build from two shards' vectors"
for r in 0 1; do
  "$garden" index build --kind flat --vectors "$work/v.shard-$r-of-2.npy" --ids "$work/v.shard-$r-of-2.ids" --out "$work/flat$r" >/dev/null 2>&1
done
"$garden" index build --kind shards --member "$work/flat0" --member "$work/flat1" --out "$work/flat_sh" >/dev/null 2>&1 || fail "index build --kind shards"
/usr/bin/python3 -c "
import numpy as np, sys  # Debian's python3-numpy (scripts/setup)
whole = np.load(sys.argv[1]); parts = np.concatenate([np.load(sys.argv[2]), np.load(sys.argv[3])])
sys.exit(0 if whole.shape == parts.shape == (16, 32) and np.abs(whole - parts).max() < 1e-5 else 1)" \
  "$work/v.npy" "$work/v.shard-0-of-2.npy" "$work/v.shard-1-of-2.npy" && pass || fail "the shards' vectors are not the unsharded encoding's rows"
for index in flat_cat flat_sh; do
  "$garden" search --index "$work/$index" --queries "$work/coll/queries.jsonl" --query-vectors "$work/q.npy" --k 16 --run "$work/$index.run" >/dev/null 2>&1
done
cmp -s "$work/flat_cat.run" "$work/flat_sh.run" && [ "$(wc -l <"$work/flat_sh.run")" -eq 32 ] && pass ||
  fail "flat shards searched as one differ from one index of their vectors"
"$garden" index build --corpus "$work/coll" --out "$work/bm25" >/dev/null 2>&1
"$garden" launch --nproc 3 -- index build --corpus "$work/coll" --out "$work/bm25" >/dev/null 2>&1 || fail "sharded index build"
"$garden" index build --kind shards --member "$work/bm25.shard-0-of-3" --member "$work/bm25.shard-1-of-3" --member "$work/bm25.shard-2-of-3" \
  --out "$work/bm25_sh" >/dev/null 2>&1
"$garden" search --index "$work/bm25" --queries "$work/coll" --k 16 --run "$work/bm25.run" >/dev/null 2>&1
"$garden" search --index "$work/bm25_sh" --queries "$work/coll" --k 16 --run "$work/bm25_sh.run" >/dev/null 2>&1
cmp -s "$work/bm25.run" "$work/bm25_sh.run" && [ -s "$work/bm25.run" ] && pass || fail "BM25 shards searched as one differ from one index"
# One shard served by Xapian's remote backend: its member folder holds the shard's manifest and,
# as "xapian", a stub file naming the server (docs/distributed.md).
port=$((20000 + RANDOM % 20000))
# In a session of its own: on SIGTERM xapian-tcpsrv signals its whole process group.
setsid xapian-tcpsrv --port "$port" --interface 127.0.0.1 --quiet "$work/bm25.shard-1-of-3/xapian" &
server=$!
mkdir -p "$work/remote1"
cp "$work/bm25.shard-1-of-3/manifest.json" "$work/remote1/"
echo "remote 127.0.0.1:$port" >"$work/remote1/xapian"
"$garden" index build --kind shards --member "$work/bm25.shard-0-of-3" --member "$work/remote1" --member "$work/bm25.shard-2-of-3" \
  --out "$work/bm25_remote" >/dev/null 2>&1
for _ in $(seq 1 50); do
  "$garden" search --index "$work/bm25_remote" --queries "$work/coll" --k 16 --run "$work/bm25_remote.run" >/dev/null 2>&1 && break
  sleep 0.1  # the server may still be starting
done
kill "$server" 2>/dev/null
pkill -f "xapian-tcpsrv --port $port"  # in case setsid had to fork
cmp -s "$work/bm25.run" "$work/bm25_remote.run" && pass || fail "a BM25 shard served by xapian-tcpsrv changed the run"
expect_error 2 "does not match" -- "$garden" index build --kind shards --member "$work/flat0" --member "$work/bm25" --out "$work/mixed"
expect_error 2 "--shard must be R/N" -- "$garden" index build --corpus "$work/coll" --shard 3/3 --out "$work/x"
echo "someone's notes" >"$work/notes.npy"
expect_error 2 "--out $work/notes.npy exists and is not a .npy matrix" -- "$garden" embed encode --model "$work/e1" --input "$work/coll" --out "$work/notes.npy"
echo "someone's ids" >"$work/w.shard-0-of-2.ids"
expect_error 2 "exists and is not the ids of an earlier sharded encoding" -- "$garden" embed encode --model "$work/e1" --input "$work/coll" --shard 0/2 --out "$work/w.npy"
grep -q "someone's" "$work/notes.npy" && grep -q "someone's" "$work/w.shard-0-of-2.ids" && pass || fail "embed encode overwrote files it did not write"
expect_error 2 "--shard 16/17: 16 texts leave this shard none" -- "$garden" embed encode --model "$work/e1" --input "$work/coll" --shard 16/17 --out "$work/x.npy"

report
