#!/usr/bin/env bash
# End-to-end checks of the garden binary: bad inputs give a one-line error naming the input
# and a non-zero exit; a tiny LM trains, resumes, evaluates and generates; a tokenizer
# trains and round-trips through encode/decode.
set -u
garden="$1"
source "$(dirname "$0")/helpers.sh"

printf 'line one of text\nline two of text\n' >"$work/small.txt"
printf '{"prompt": "a", "completion": "b"}\n{"prompt": \n' >"$work/bad.jsonl"

expect_error 2 "--no-such-option" -- "$garden" lm train --no-such-option
expect_error 2 "unknown reproduction 'nope'" -- "$garden" repro run nope
expect_error 1 "$work/missing.txt: no such file" -- "$garden" tokenizer train --input "$work/missing.txt" --vocab 50 --out "$work/t.model"
expect_error 1 "too large for this corpus" -- "$garden" tokenizer train --input "$work/small.txt" --vocab 5000 --out "$work/t.model"
[ -e "$work/t.model" ] && fail "a failed tokenizer run left $work/t.model" || pass
expect_error 2 "--lr: 'fast' is not a valid number" -- "$garden" lm train --lr fast
expect_error 2 "n_heads must divide d_model" -- "$garden" lm train --train "$work/small.txt" --valid "$work/small.txt" --n-heads 3 --seq 8
expect_error 1 "bad.jsonl:2: not a valid JSON line" -- "$garden" lm train --format prompt-completion --train "$work/bad.jsonl" --valid "$work/bad.jsonl"
expect_error 1 "$work/nowhere: no such folder" -- "$garden" lm eval --model "$work/nowhere" --input "$work/small.txt"
printf '1 Q0 d1 1 2.0 x\n1 Q0 d2 2 1.0 x\n' >"$work/r.run"
printf 'query-id\tcorpus-id\tscore\n1\td2\t1\n' >"$work/q.tsv"
"$garden" eval retrieval --run "$work/r.run" --qrels "$work/q.tsv" --metrics mrr,p@1 >"$work/ir.out" 2>&1 &&
  grep -q "mrr .*all .*0.5000" "$work/ir.out" && pass || fail "eval retrieval: $(cat "$work/ir.out")"
expect_error 1 "$work/none.tsv: no such file" -- "$garden" eval retrieval --run "$work/r.run" --qrels "$work/none.tsv"
expect_error 2 "unknown metric 'bleu'" -- "$garden" eval retrieval --run "$work/r.run" --qrels "$work/q.tsv" --metrics bleu
mkdir -p "$work/coll/qrels"
printf '{"_id": "d1", "title": "Wings", "text": "lift over the wing"}\n{"_id": "d2", "text": "drag of a body"}\n' >"$work/coll/corpus.jsonl"
printf '{"_id": "q1", "text": "wing lift"}\n' >"$work/coll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\n' >"$work/coll/qrels/test.tsv"
"$garden" index build --corpus "$work/coll" --out "$work/idx" >/dev/null 2>&1 || fail "index build failed"
"$garden" search --index "$work/idx" --queries "$work/coll/queries.jsonl" --run "$work/bm25.run" >/dev/null 2>&1 &&
  "$garden" eval retrieval --run "$work/bm25.run" --qrels "$work/coll/qrels/test.tsv" --metrics mrr | grep -q "mrr .*1.0000" &&
  pass || fail "bm25 search + eval did not rank d1 first"
"$garden" fuse --run "$work/bm25.run" --run "$work/r.run" --out "$work/fused.run" >/dev/null 2>&1 &&
  [ -s "$work/fused.run" ] && pass || fail "fuse failed"
expect_error 2 "3 weights for 2 runs" -- "$garden" fuse --run "$work/bm25.run" --run "$work/bm25.run" --method weighted --weights 1,2,3 --out "$work/x.run"
expect_error 2 "--stem must be none or english" -- "$garden" index build --corpus "$work/coll" --out "$work/idx2" --stem klingon
echo '{"_id": "d3", "text": "new"}' >>"$work/coll/corpus.jsonl"
expect_error 1 "is stale" -- "$garden" search --index "$work/idx" --query "wing"
# Dense (the collection has 3 documents by now): flat and HNSW over the same random vectors agree on the top document; the funnel
# with a full-width re-rank equals flat search.
/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(0)
np.save('$work/dv.npy', r.standard_normal((3, 8)).astype(np.float32))
np.save('$work/qv.npy', r.standard_normal((1, 8)).astype(np.float32))
" 2>/dev/null
if [ -s "$work/dv.npy" ]; then
  for kind in flat hnsw; do
    "$garden" index build --kind $kind --vectors "$work/dv.npy" --corpus "$work/coll" --out "$work/$kind" >/dev/null 2>&1 || fail "index build --kind $kind"
    "$garden" search --index "$work/$kind" --query-vectors "$work/qv.npy" --queries "$work/coll/queries.jsonl" --run "$work/$kind.run" --k 2 >/dev/null 2>&1 || fail "search $kind"
  done
  [ "$(head -1 "$work/flat.run" | cut -d' ' -f3)" = "$(head -1 "$work/hnsw.run" | cut -d' ' -f3)" ] && pass || fail "flat and hnsw disagree"
  expect_error 1 "3 ids for 1 vectors" -- "$garden" index build --kind flat --vectors "$work/qv.npy" --corpus "$work/coll" --out "$work/bad"
  echo '{"_id": "d4", "text": "newer"}' >>"$work/coll/corpus.jsonl"
  expect_error 1 "is stale" -- "$garden" search --index "$work/flat" --query-vectors "$work/qv.npy" --queries "$work/coll/queries.jsonl" --run "$work/s.run"
else
  fail "python3-numpy missing: cannot make test vectors"
fi
expect_error 2 "--scale must be smoke, quick or full" -- "$garden" repro run gated-attention --scale huge --out "$work/r"

# A tokenizer round trip through the CLI, special token included.
for i in $(seq 1 300); do echo "the cat $i sat on the mat number $((i * 7)) while the dog slept, then ran over fields and hills"; done >"$work/corpus.txt"
if "$garden" tokenizer train --input "$work/corpus.txt" --vocab 300 --special '<|embed|>' --out "$work/t.model" >/dev/null 2>&1; then
  text='the dog <|embed|> sat  twice'
  back=$("$garden" tokenizer encode --model "$work/t.model" --text "$text" | "$garden" tokenizer decode --model "$work/t.model")
  [ "$back" = "$text" ] && pass || fail "tokenizer round trip gave '$back'"
else
  fail "tokenizer train failed"
fi

# Train 6 steps straight, and 3 + resume 3: the final weights are identical.
head -c 20000 /dev/urandom | base64 >"$work/train.txt"
common=(--train "$work/train.txt" --valid "$work/train.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 16 --batch 4
  --steps 6 --warmup 1 --eval-every 3 --eval-windows 4 --threads 1 --log-every 1)
"$garden" lm train "${common[@]}" --out "$work/a" >/dev/null 2>&1 || fail "lm train (straight) failed"
"$garden" lm train "${common[@]}" --out "$work/b" --stop-after 3 >"$work/stop.out" 2>&1 || fail "lm train (first half) failed"
grep -q "continue with --resume" "$work/stop.out" && pass || fail "interrupted run does not say how to resume"
"$garden" lm train "${common[@]}" --out "$work/b" --resume >/dev/null 2>&1 || fail "lm train --resume failed"
if cmp -s "$work/a/checkpoints/step_00000006/model.safetensors" "$work/b/checkpoints/step_00000006/model.safetensors"; then pass; else
  fail "resumed weights differ from the straight run"; fi
grep -q '"val_loss"' "$work/a/results.json" && pass || fail "results.json lacks val_loss"
for i in $(seq 1 40); do echo "{\"_id\": \"$i\", \"text\": \"document $i says hello\"}"; done >"$work/docs.jsonl"
"$garden" lm train --train "$work/docs.jsonl" --valid "$work/docs.jsonl" --d-model 16 --n-layers 1 --n-heads 2 --seq 16 \
  --batch 4 --steps 2 --warmup 0 --eval-windows 2 --threads 1 --out "$work/j" >/dev/null 2>&1 && pass || fail "lm train on JSONL failed"
expect_error 1 "has no checkpoint to resume from" -- "$garden" lm train "${common[@]}" --out "$work/empty" --resume

"$garden" lm eval --model "$work/a" --input "$work/small.txt" --threads 1 >"$work/eval.out" 2>&1 &&
  grep -q "bits/byte" "$work/eval.out" && pass || fail "lm eval: $(cat "$work/eval.out")"
"$garden" lm generate --model "$work/a" --prompt "ab" --max-tokens 5 --n 2 --seed 3 --threads 1 >"$work/gen.out" 2>&1 &&
  [ "$(grep -c -- '--- sample' "$work/gen.out")" -eq 2 ] && pass || fail "lm generate: $(cat "$work/gen.out")"
# garden succinct: bad inputs, a program written and read back, agreement, the table.
expect_error 2 "--n must be between 1 and 6" -- "$garden" succinct build-counter --n 9
expect_error 2 "--lang" -- "$garden" succinct min-dfa --lang pairs
expect_error 2 "symbol 'x' is not in the alphabet" -- "$garden" succinct accepts --n 1 --word '#0x#'
printf '{"alphabet": "ab", "operations": [{"name": "p", "formula": {"var": "nope"}}]}' >"$work/bad_program.json"
expect_error 1 "unknown vector 'nope'" -- "$garden" succinct compile-uhat --program "$work/bad_program.json"
expect_error 1 "cannot read $work/none.json" -- "$garden" succinct compile-uhat --program "$work/none.json"
"$garden" succinct build-counter --n 2 --lang segments --out "$work/s2.json" >/dev/null && pass || fail "succinct build-counter --out"
"$garden" succinct accepts --program "$work/s2.json" --word '#00a01a10a11b#00a01a10b11a#' | grep -c "^.*: accept" | grep -q 2 &&
  pass || fail "succinct accepts on a saved program"
"$garden" succinct agree --n 1 --lang segments --L 6 --random 500 --out "$work/agree.json" >"$work/agree.out" 2>&1 &&
  grep -q "0 disagreements" "$work/agree.out" && grep -q '"disagreements": 0' "$work/agree.json" && pass ||
  fail "succinct agree: $(cat "$work/agree.out")"
"$garden" succinct table --n 1..2 | grep -qE "^ *2 +4 +209 +211\* +244" && pass || fail "succinct table lacks the n=2 row"
"$garden" succinct min-dfa --n 5 | grep -q "828928688131 states (closed form" && pass || fail "succinct min-dfa closed form"
# garden collapse toy: bad inputs, each family on small sizes, --out never over a foreign file.
expect_error 2 "--real-fraction must be within 0..1" -- "$garden" collapse toy --real-fraction 1.5
expect_error 2 "--family" -- "$garden" collapse toy --family poisson
expect_error 1 "samples >= 2" -- "$garden" collapse toy --samples 1
echo keep >"$work/foreign.json"
expect_error 2 "exists and is not an earlier trace of garden collapse toy" -- \
  "$garden" collapse toy --seeds 2 --generations 3 --out "$work/foreign.json"
grep -qx keep "$work/foreign.json" && pass || fail "collapse toy replaced a foreign file"
"$garden" collapse toy --family categorical --symbols 20 --samples 50 --generations 40 --seeds 5 --out "$work/trace.json" \
  >"$work/trace.out" 2>&1 && grep -q '"returns": 0' "$work/trace.json" && grep -q "returns 0" "$work/trace.out" && pass ||
  fail "collapse toy categorical: $(cat "$work/trace.out")"
"$garden" collapse toy --family mixture --samples 200 --generations 5 --seeds 2 --record 1,5 --out "$work/trace.json" \
  >"$work/trace.out" 2>&1 && grep -q '"family": "mixture"' "$work/trace.json" && grep -qE "^ +5 " "$work/trace.out" && pass ||
  fail "collapse toy mixture over its own earlier trace: $(cat "$work/trace.out")"
# garden limit: bad inputs, a small sweep that resumes from its file, the fit, gen and eval.
expect_error 2 "--n must be at least 3" -- "$garden" limit free-embed --d 4 --n 2
expect_error 2 "--n0 must be auto or a number" -- "$garden" limit critical-n --d 4 --n0 soon
expect_error 2 "--pattern must be dense, random, cycle or disjoint" -- "$garden" limit gen --pattern zigzag --out "$work/lim"
expect_error 1 "collection '$work/nowhere': no such folder" -- "$garden" limit eval --collection "$work/nowhere"
expect_error 1 "cannot read $work/none.json" -- "$garden" limit fit --input "$work/none.json"
expect_error 2 "--d must be a positive number or a range like 4..16, not '9..4'" -- "$garden" limit sweep --d 9..4
expect_error 2 "--n must be a positive number or a range" -- "$garden" succinct table --n 1..x
expect_error 2 "--d must be a positive number or a range like 4..16, not '4..7x'" -- "$garden" limit sweep --d 4..7x
"$garden" limit sweep --d 4..7 --threads 1 --out "$work/sweep.json" >"$work/sweep.out" 2>&1 && grep -q "d=7: critical n = " "$work/sweep.out" &&
  pass || fail "limit sweep: $(tail -3 "$work/sweep.out")"
"$garden" limit sweep --d 4..7 --threads 1 --out "$work/sweep.json" | grep -q "d=4: critical n = .* (from" && pass ||
  fail "limit sweep does not reuse its file"
"$garden" limit fit --input "$work/sweep.json" | grep -q "r^2" && pass || fail "limit fit"
"$garden" limit gen --pattern disjoint --queries 50 --docs 150 --attributes 10 --out "$work/lim" >/dev/null &&
  [ "$(wc -l <"$work/lim/corpus.jsonl")" -eq 150 ] && pass || fail "limit gen"
"$garden" limit eval --collection "$work/lim" --d 8 --k 2,10 --threads 1 2>/dev/null | grep -qE "^BM25 +1.0000" && pass ||
  fail "limit eval: BM25 does not solve a disjoint LIMIT collection"
"$garden" limit construct --n 60 | grep -q "0 queries not strictly separated" && pass || fail "limit construct"
# garden embed: an embedding model from the tiny LM, encode, a dense index built and searched
# with --model, and another model refused by that index.
"$garden" embed init --model "$work/a" --pooler latent_attention --latents 4 --latent-heads 2 --out "$work/emb" >/dev/null &&
  pass || fail "embed init"
"$garden" embed init --model "$work/a" --pooler mean --out "$work/emb_mean" >/dev/null 2>&1 || fail "embed init (mean)"
expect_error 2 "case folding must be none, all-caps or all, not 'lower'" -- "$garden" embed init --model "$work/a" --case-folding lower --out "$work/emb_lower"
expect_error 2 "pooler must be mean" -- "$garden" embed init --model "$work/a" --pooler max --out "$work/x"
"$garden" embed encode --model "$work/emb" --input "$work/coll" --out "$work/emb.npy" 2>/dev/null | grep -q "x 16" && pass ||
  fail "embed encode"
"$garden" index build --kind hnsw --model "$work/emb" --corpus "$work/coll" --out "$work/emb_idx" >/dev/null 2>&1 && pass ||
  fail "index build --model"
# Fusion as an index: BM25 + the dense index by RRF, searched like any index (--model reaches the dense member).
"$garden" index build --corpus "$work/coll" --out "$work/bm25_now" >/dev/null 2>&1 || fail "index build (bm25 for fusion)"
"$garden" index build --kind fusion --member "$work/bm25_now" --member "$work/emb_idx" --out "$work/fused_idx" >/dev/null 2>&1 &&
  "$garden" search --index "$work/fused_idx" --model "$work/emb" --queries "$work/coll" --run "$work/fused_idx.run" --k 3 >/dev/null 2>&1 &&
  [ "$(wc -l <"$work/fused_idx.run")" -eq 3 ] && pass || fail "index build --kind fusion + search"
expect_error 2 "a fusion index needs two or more --member" -- "$garden" index build --kind fusion --member "$work/bm25_now" --out "$work/f1"
expect_error 2 "--kind fusion takes --member index folders" -- "$garden" index build --kind fusion --corpus "$work/coll" --member "$work/bm25_now" --member "$work/emb_idx" --out "$work/f2"
expect_error 2 "--member is for --kind fusion" -- "$garden" index build --corpus "$work/coll" --member "$work/bm25_now" --out "$work/f3"
"$garden" embed encode --model "$work/emb" --input "$work/coll/corpus.jsonl" --out "$work/emb_jsonl.npy" 2>/dev/null | grep -q "x 16" &&
  cmp -s "$work/emb.npy" "$work/emb_jsonl.npy" && pass || fail "embed encode of corpus.jsonl differs from the collection's corpus"
# Matryoshka: --dims keeps a re-normalised prefix; a funnel over an 8-d index reports its cost.
"$garden" embed encode --model "$work/emb" --input "$work/coll" --dims 8 --out "$work/emb8.npy" 2>/dev/null | grep -q "x 8" && pass ||
  fail "embed encode --dims"
expect_error 2 "--dims 32 exceeds the model's 16 dimensions" -- "$garden" embed encode --model "$work/emb" --input "$work/coll" --dims 32 --out "$work/x.npy"
"$garden" index build --kind flat --dims 8 --model "$work/emb" --corpus "$work/coll" --out "$work/emb_idx8" >/dev/null 2>&1 &&
  "$garden" search --index "$work/emb_idx8" --model "$work/emb" --queries "$work/coll" --run "$work/funnel.run" --k 2 \
    --shortlist 3,2 --rerank-dims 12,16 2>/dev/null | grep -q "multiply-adds per query" && [ -s "$work/funnel.run" ] && pass ||
  fail "search with a Matryoshka funnel"
expect_error 2 "--rerank-dims must increase" -- "$garden" search --index "$work/emb_idx8" --model "$work/emb" --queries "$work/coll" \
  --run "$work/x.run" --k 2 --shortlist 3,2 --rerank-dims 16,12
"$garden" search --index "$work/emb_idx" --model "$work/emb" --queries "$work/coll" --run "$work/emb.run" >/dev/null 2>&1 &&
  [ -s "$work/emb.run" ] && pass || fail "search --model"
"$garden" eval retrieval --model "$work/emb" --collection "$work/coll" --metrics ndcg@10,recall@10 2>/dev/null |
  grep -qE "^recall@10 +all +1.0000" && pass || fail "eval retrieval --model"
expect_error 2 "give --run RUN --qrels QRELS, or --model MODEL --collection DIR" -- "$garden" eval retrieval --metrics ndcg@10
printf 'score\tsentence1\tsentence2\n1.0\ta cat\ta plane\n4.5\ta dog runs\ta dog is running\n3.0\twing lift\tlift of a wing\n' >"$work/sts.tsv"
"$garden" eval sts --model "$work/emb" --pairs "$work/sts.tsv" 2>/dev/null | grep -q "3 pairs, Spearman x 100 = " && pass ||
  fail "eval sts"
mkdir -p "$work/root/tinysts" && cp -r "$work/coll" "$work/root/tiny" && cp "$work/sts.tsv" "$work/root/tinysts/test.tsv"
suite_out=$("$garden" eval suite --model "$work/emb" --data "$work/root" --collections tiny,absent --sts tinysts --glosses 60 \
  --neighbours 3 --out "$work/suite.json" 2>/dev/null)
# Each task: the encoder's score, its lexical floor (or -) and, for a collection, BM25 + encoder RRF.
grep -qE "^tiny +[0-9.]+ +[0-9.]+ +[0-9.]+$" <<<"$suite_out" && grep -qE "^tinysts +-?[0-9.]+ +(-?[0-9.]+|-) +-$" <<<"$suite_out" &&
  grep -qE "^lexname-3nn +[0-9.]+ +- +-$" <<<"$suite_out" && grep -qE "^average +-?[0-9.]+$" <<<"$suite_out" &&
  grep -qE "^retrieval mean nDCG@10 over 1 collection: encoder [0-9.]+ \([0-9.]+x BM25\), BM25 [0-9.]+, BM25 \+ encoder RRF [0-9.]+$" <<<"$suite_out" &&
  grep -q "skipped: absent (not under the data root)" <<<"$suite_out" &&
  grep -q '"tinysts"' "$work/suite.json" && grep -q '"rrf"' "$work/suite.json" && pass || fail "eval suite"
echo "my notes" >"$work/notes.json"
expect_error 2 "--out $work/notes.json exists and is not an earlier scores file" -- "$garden" eval suite --model "$work/emb" \
  --data "$work/root" --out "$work/notes.json"
grep -q "my notes" "$work/notes.json" && pass || fail "eval suite left a foreign --out alone"
printf 'score\ts1\ts2\nx\ta\tb\n' >"$work/bad_sts.tsv"
expect_error 1 "bad_sts.tsv:2: the score 'x' is not a number" -- "$garden" eval sts --model "$work/emb" --pairs "$work/bad_sts.tsv"
expect_error 1 "has other weights" -- "$garden" search --index "$work/emb_idx" --model "$work/emb_mean" --queries "$work/coll" --run "$work/x.run"
# garden embed pairs / train: title -> body pairs with BM25 negatives, training stopped and
# resumed, the run folder used as an encoder, and the errors of impossible settings.
mkdir -p "$work/tcoll/qrels"
for i in 1 2 3 4 5 6; do
  printf '{"_id": "t%s", "title": "study number %s of wings", "text": "the body of document %s talks about lift drag and flow %s"}\n' "$i" "$i" "$i" "$i"
done >"$work/tcoll/corpus.jsonl"
printf '{"_id": "q1", "text": "lift"}\n' >"$work/tcoll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\tt1\t1\n' >"$work/tcoll/qrels/test.tsv"
"$garden" embed pairs --collection "$work/tcoll" --negatives 2 --held-out 2 --eval-out "$work/pairs_eval.jsonl" \
  --out "$work/pairs.jsonl" 2>/dev/null | grep -q "wrote 4 pairs" && grep -q '"negatives":\["' "$work/pairs.jsonl" && pass || fail "embed pairs"
"$garden" embed pairs --from crop --per-document 2 --collection "$work/tcoll" --out "$work/crops.jsonl" 2>/dev/null |
  grep -q "wrote 12 pairs" && pass || fail "embed pairs --from crop"
echo "someone else's notes" >"$work/notes.txt"
expect_error 2 "--out $work/notes.txt exists and is not an earlier pairs file" -- "$garden" embed pairs --from crop --collection "$work/tcoll" --out "$work/notes.txt"
grep -q "someone else's notes" "$work/notes.txt" && pass || fail "embed pairs overwrote a file it did not write"
"$garden" embed pairs --from crop --per-document 1 --collection "$work/tcoll" --out "$work/crops.jsonl" 2>/dev/null |
  grep -q "wrote 6 pairs" && pass || fail "embed pairs replacing its own earlier output"
expect_error 1 "no document has two sentences, one of 4-40 words" -- "$garden" embed pairs --from ict --collection "$work/tcoll" --out "$work/x.jsonl"
train_flags=(--model "$work/emb_mean" --train "$work/pairs.jsonl" --eval "$work/pairs_eval.jsonl" --steps 4 --batch 2
  --warmup 1 --threads 1 --out "$work/etrain")
"$garden" embed train "${train_flags[@]}" --hard-negatives 1 --stop-after 2 2>/dev/null | grep -q "stopped at step 2" && pass || fail "embed train --stop-after"
"$garden" embed train "${train_flags[@]}" --hard-negatives 1 --resume 2>/dev/null | grep -q "step 4: train loss" && pass || fail "embed train --resume"
"$garden" eval retrieval --model "$work/etrain" --collection "$work/tcoll" --metrics recall@10 2>/dev/null |
  grep -qE "^recall@10 +all" && pass || fail "eval retrieval --model with a training run"
expect_error 2 "hard_negatives is 3 but a pair" -- "$garden" embed train "${train_flags[@]}" --hard-negatives 3
expect_error 2 "with in_batch off, hard_negatives must be at least 1" -- "$garden" embed train "${train_flags[@]}" --hard-negatives 0 --in-batch false
expect_error 1 "pairs_bad.jsonl:1: needs a non-empty string \"positive\"" -- sh -c \
  "printf '{\"query\": \"q\"}\\n' >'$work/pairs_bad.jsonl'; '$garden' embed train --model '$work/emb_mean' --train '$work/pairs_bad.jsonl' --out '$work/x'"
# LLM2Vec's steps: MNTP (lm train --objective mntp) on an LM whose tokenizer has a reserved
# piece, stopped and resumed; the bidirectional embedder of its run; SimCSE on it (embed train
# --objective simcse); an LM without the piece refused.
"$garden" lm train --train "$work/corpus.txt" --valid "$work/corpus.txt" --tokenizer "$work/t.model" --d-model 16 --n-layers 1 \
  --n-heads 2 --seq 16 --batch 4 --steps 2 --warmup 1 --threads 1 --out "$work/sp_lm" >/dev/null 2>&1 || fail "lm train (SentencePiece)"
mntp_flags=(--objective mntp --model "$work/sp_lm" --mask-piece '<|embed|>' --train "$work/corpus.txt" --valid "$work/corpus.txt" --seq 16 --batch 4
  --steps 4 --warmup 1 --eval-every 2 --eval-windows 4 --threads 1 --out "$work/mntp")
"$garden" lm train "${mntp_flags[@]}" --stop-after 2 2>/dev/null | grep -q "stopped at step 2" && pass || fail "lm train --objective mntp --stop-after"
"$garden" lm train "${mntp_flags[@]}" --resume 2>/dev/null | grep -q "step 4: train loss .*val loss" && pass ||
  fail "lm train --objective mntp --resume"
"$garden" embed init --model "$work/mntp" --mask bidirectional --pooler mean --out "$work/l2v" | grep -q "mean pooling, bidirectional mask" &&
  pass || fail "embed init of the MNTP run"
"$garden" embed train --objective simcse --model "$work/l2v" --train "$work/corpus.txt" --max-tokens 120 --batch 4 --steps 2 \
  --warmup 1 --threads 1 --out "$work/simcse" 2>/dev/null | grep -q "step 2: train loss" && pass || fail "embed train --objective simcse"
expect_error 2 "--objective mntp adapts a model: give --model" -- "$garden" lm train --objective mntp --train "$work/train.txt" \
  --valid "$work/train.txt" --out "$work/x"
expect_error 2 "--model brings its own shape" -- "$garden" lm train "${mntp_flags[@]}" --d-model 32
expect_error 2 "--objective simcse has no held-out pairs" -- "$garden" embed train --objective simcse --model "$work/l2v" \
  --eval "$work/pairs_eval.jsonl" --out "$work/x"
expect_error 1 "the tokenizer has no '<mask>' piece" -- "$garden" lm train --objective mntp --model "$work/a" --train "$work/train.txt" \
  --valid "$work/train.txt" --seq 16 --out "$work/x"
expect_error 2 "MNTP strategy must be bert or all_mask" -- "$garden" lm train "${mntp_flags[@]}" --strategy span
"$garden" eval clustering --model "$work/emb_mean" --glosses 60 --neighbours 3 2>/dev/null |
  grep -qE "60 WordNet noun glosses, [0-9]+ lexnames: V-measure x 100 = [0-9.]+, 3-NN accuracy" && pass || fail "eval clustering"
expect_error 2 "--glosses must be at least 2" -- "$garden" eval clustering --model "$work/emb_mean" --glosses 1
"$garden" limit eval --collection "$work/lim" --d "" --hashed 0 --no-bm25 --model "$work/etrain" --k 2,10 --threads 1 2>/dev/null |
  grep -qE "^encoder .*/etrain +[0-9.]+ +[0-9.]+ +garden embedding model" && pass || fail "limit eval --model"
# Staged training (NV-Embed): in-batch + hard negatives, then in-batch off; a rerun loads the
# finished stages.
printf '{"name": "retrieval", "data": {"train": "%s"}, "objective": {"hard_negatives": 1}, "train": {"steps": 2, "batch": 2, "warmup": 1}}\n' \
  "$work/pairs.jsonl" >"$work/stage1.json"
printf '{"name": "blend", "data": {"train": ["%s", "%s"]}, "objective": {"hard_negatives": 1, "in_batch": false}, "train": {"steps": 2, "batch": 2, "warmup": 1, "lr": 5e-5}}\n' \
  "$work/pairs.jsonl" "$work/pairs.jsonl" >"$work/stage2.json"
"$garden" embed train --model "$work/emb_mean" --stages "$work/stage1.json,$work/stage2.json" --out "$work/staged" --threads 1 2>/dev/null |
  grep -q "2 stages done" && [ -e "$work/staged/stage2-blend/checkpoints/latest" ] && pass || fail "embed train --stages"
"$garden" embed train --model "$work/emb_mean" --stages "$work/stage1.json,$work/stage2.json" --out "$work/staged" --threads 1 2>&1 |
  grep -q "stage 2 (blend): already trained" && pass || fail "embed train --stages rerun"
expect_error 2 "drop --train" -- "$garden" embed train --model "$work/emb_mean" --stages "$work/stage1.json" --train "$work/pairs.jsonl"
# Positive-aware mining and Matryoshka classification heads.
"$garden" embed pairs --collection "$work/tcoll" --negatives 1 --margin pos-perc:0.95 --out "$work/pairs_aware.jsonl" 2>&1 |
  grep -q "mined 1 negatives per pair with BM25 (pos-perc:0.95)" && pass || fail "embed pairs --margin"
"$garden" embed pairs --collection "$work/tcoll" --negatives 1 --margin pos-perc:0.95 --teacher "dense:$work/emb_mean" \
  --out "$work/pairs_dense.jsonl" 2>&1 | grep -q "mined 1 negatives per pair with .*emb_mean (pos-perc:0.95)" && pass ||
  fail "embed pairs --teacher dense"
[ -e "$work/pairs_dense.flat/manifest.json" ] && pass || fail "embed pairs --teacher dense: no teacher index beside the pairs"
expect_error 2 "--teacher must be bm25 or dense:EMB" -- "$garden" embed pairs --collection "$work/tcoll" --negatives 1 --teacher tfidf --out "$work/x.jsonl"
expect_error 2 "--per-document must be in [1, 64], got 0" -- "$garden" embed pairs --from ict --per-document 0 --collection "$work/tcoll" --out "$work/x.jsonl"
expect_error 2 "--margin must be naive-topk" -- "$garden" embed pairs --collection "$work/tcoll" --negatives 1 --margin top --out "$work/x.jsonl"
for i in 1 2 3 4 5 6 7 8; do
  printf '{"text": "wing lift number %s", "label": "aero"}\n{"text": "cell blood number %s", "label": "med"}\n' "$i" "$i"
done >"$work/labelled.jsonl"
"$garden" embed classify --model "$work/emb_mean" --train "$work/labelled.jsonl" --test "$work/labelled.jsonl" --mrl 4,16 --mrl-e \
  --steps 3 --warmup 1 --batch 4 --threads 1 --out "$work/cls" 2>/dev/null | grep -qE "^ +16 +[0-9.]+ +[0-9.]+" && [ -s "$work/cls/test.json" ] &&
  pass || fail "embed classify"
expect_error 2 "Matryoshka widths must increase within 1..16" -- "$garden" embed classify --model "$work/emb_mean" \
  --train "$work/labelled.jsonl" --test "$work/labelled.jsonl" --mrl 4,32 --out "$work/x"
printf '{"text": "x", "label": "other"}\n' >"$work/labelled_other.jsonl"
expect_error 1 "label 'other' is not among the training labels" -- "$garden" embed classify --model "$work/emb_mean" \
  --train "$work/labelled.jsonl" --test "$work/labelled_other.jsonl" --out "$work/x"
"$garden" repro list | grep -q "gated-attention .*available" && pass || fail "repro list lacks gated-attention"
# A reproduction never writes into a folder of someone else's files, nor into another one's output.
mkdir -p "$work/theirs" && echo keep >"$work/theirs/notes.txt"
expect_error 2 "already holds files that garden did not write there" -- "$garden" repro run succinct-transformers --scale smoke --out "$work/theirs"
expect_error 2 "already holds files that garden did not write there" -- "$garden" repro all --scale smoke --out "$work/theirs"
[ "$(cat "$work/theirs/notes.txt")" = keep ] && [ "$(ls -A "$work/theirs")" = notes.txt ] && pass || fail "repro touched $work/theirs"
"$garden" repro run succinct-transformers --scale smoke --threads 1 --out "$work/rep2" >/dev/null 2>&1 &&
  "$garden" repro run succinct-transformers --scale smoke --threads 1 --out "$work/rep2" >/dev/null 2>&1 && pass ||
  fail "a second run into its own output folder was refused"

# garden dsi: bad inputs name what is wrong; a tiny collection's ids and a model round trip.
expect_error 1 "no qrels/train.tsv: DSI needs training queries" -- "$garden" dsi build-ids --collection "$work/coll" --scheme naive --out "$work/ids.tsv"
"$garden" dsi synth-entities --documents 20 --out "$work/se" >/dev/null && pass || fail "dsi synth-entities"
expect_error 2 "--scheme" -- "$garden" dsi build-ids --collection "$work/se" --scheme alphabetical --out "$work/ids.tsv"
expect_error 1 "$work/none.tsv: cannot read the docid map" -- "$garden" dsi train --collection "$work/se" --ids "$work/none.tsv" --out "$work/dsi"
"$garden" dsi build-ids --collection "$work/se" --scheme semantic --c 4 --out "$work/ids.tsv" >/dev/null && pass || fail "dsi build-ids"
expect_error 2 "--ratio (r) must be in (0, 10000]" -- "$garden" dsi train --collection "$work/se" --ids "$work/ids.tsv" --ratio 0 --out "$work/dsi"
expect_error 1 "not a DSI model" -- "$garden" dsi search --model "$work/se" --collection "$work/se"
"$garden" dsi train --collection "$work/se" --ids "$work/ids.tsv" --tokenizer bytes --d-model 16 --layers 1 --heads 2 --d-ff 32 \
    --steps 3 --warmup 1 --threads 1 --out "$work/dsi" >/dev/null 2>&1 &&
  "$garden" dsi search --model "$work/dsi" --collection "$work/se" --threads 1 >"$work/dsi.out" 2>&1 &&
  grep -q "document only indexed" "$work/dsi.out" && grep -q "invalid docids among those returned: 0.0%" "$work/dsi.out" && pass ||
  fail "dsi train and search: $(cat "$work/dsi.out")"
"$garden" dsi build-ids --collection "$work/se" --scheme naive --out "$work/naive.tsv" >/dev/null
expect_error 2 "docid_map_sha256" -- "$garden" dsi train --collection "$work/se" --ids "$work/naive.tsv" --tokenizer bytes --d-model 16 \
    --layers 1 --heads 2 --d-ff 32 --steps 3 --warmup 1 --threads 1 --out "$work/dsi" --resume

# garden embed train --negatives: ANCE on the tiny entity collection; a run killed with
# SIGKILL in the middle (refreshes every 4 steps, each in flight for 2) resumes to the end.
"$garden" embed init --model "$work/a" --projection 8 --projection-layernorm --score dot --max-tokens 32 --out "$work/emb_ance" >/dev/null 2>&1 ||
  fail "embed init (ANCE head)"
expect_error 2 "--negatives must be inbatch, hardest, random, bm25 or ance" -- "$garden" embed train --negatives nce --collection "$work/se" --model "$work/emb_ance" --out "$work/ance"
expect_error 2 "--collection (a BEIR folder) is required" -- "$garden" embed train --negatives ance --model "$work/emb_ance" --out "$work/ance"
expect_error 2 "--ann-lag must be in [0, --refresh-every)" -- "$garden" embed train --negatives ance --collection "$work/se" --model "$work/emb_ance" \
    --refresh-every 5 --ann-lag 5 --out "$work/ance"
expect_error 1 "qrels/train.tsv" -- "$garden" embed train --negatives bm25 --collection "$work/coll" --model "$work/emb_ance" --out "$work/ance"
expect_error 2 "drop --train" -- "$garden" embed train --negatives bm25 --collection "$work/se" --train "$work/bad.jsonl" --model "$work/emb_ance" --out "$work/ance"
ance_run=("$garden" embed train --negatives ance --collection "$work/se" --model "$work/emb_ance" --steps 300 --batch 4 --warmup 2
          --refresh-every 4 --ann-lag 2 --checkpoint-every 3 --eval-every 50 --threads 1 --out "$work/ance")
"${ance_run[@]}" >/dev/null 2>&1 &
ance_pid=$!
for _ in $(seq 300); do [ -e "$work/ance/checkpoints/latest" ] && break; sleep 0.05; done
sleep 0.5
kill -9 "$ance_pid" 2>/dev/null
wait "$ance_pid" 2>/dev/null
"${ance_run[@]}" --resume >"$work/ance.out" 2>&1 && grep -q "^step 300: train loss" "$work/ance.out" &&
  [ -e "$work/ance/negatives/ance-step0000296.jsonl" ] && grep -q '"ann_index_age"' "$work/ance/metrics.jsonl" && pass ||
  fail "ANCE training killed and resumed: $(tail -3 "$work/ance.out")"
# An index of an inner-product model ranks by inner product unless told otherwise.
"$garden" index build --kind flat --model "$work/ance" --corpus "$work/se" --out "$work/ance_idx" >/dev/null 2>&1 &&
  grep -q '"metric": *"ip"' "$work/ance_idx/manifest.json" && pass || fail "index build --model of a --score dot model is not ip"

report
