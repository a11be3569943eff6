#!/usr/bin/env bash
# garden serve on loopback, driven by real clients: the official `openai` npm package
# (tests/clients/, installed by scripts/setup) checks models, embeddings, completions, chat,
# streaming and typed errors against the garden CLI's own answers; curl checks /search, the
# error objects of malformed requests, and that SIGTERM lets a request in flight finish.
set -u
garden="$1"
clients="$(cd "$(dirname "$0")/../clients" && pwd)"
source "$(dirname "$0")/helpers.sh"

if ! command -v node >/dev/null || [ ! -d "$clients/node_modules/openai" ]; then
  echo "FAIL: node or the openai client is missing: run scripts/setup"
  exit 1
fi

# A tiny byte-level LM (64-token context) and a mean-pooling embedder on it, trained in seconds.
for i in $(seq 1 200); do echo "the cat sat on the mat and the dog ran to the park number $((i % 7))"; done >"$work/train.txt"
"$garden" lm train --train "$work/train.txt" --valid "$work/train.txt" --d-model 32 --n-layers 1 --n-heads 2 --seq 32 \
  --max-seq 64 --batch 8 --steps 60 --warmup 5 --eval-every 60 --eval-windows 4 --threads 1 --out "$work/lm" >/dev/null 2>&1 ||
  { echo "FAIL: lm train"; exit 1; }
"$garden" embed init --model "$work/lm" --pooler mean --max-tokens 48 --out "$work/emb" >/dev/null || { echo "FAIL: embed init"; exit 1; }

# What the CLI says, for the client to compare with.
printf 'the cat sat\na dog ran to the park\nmat\nthe park number 3\n' >"$work/texts.txt"
"$garden" embed encode --model "$work/emb" --input "$work/texts.txt" --out "$work/emb.npy" --threads 1 >/dev/null 2>&1 &&
  "$garden" embed encode --model "$work/emb" --input "$work/texts.txt" --dims 8 --out "$work/emb8.npy" --threads 1 >/dev/null 2>&1 ||
  fail "embed encode"
printf 'the cat' >"$work/prompt.txt"
"$garden" lm generate --model "$work/lm" --prompt "the cat" --max-tokens 12 --temperature 0 --threads 1 >"$work/generate.txt" 2>/dev/null ||
  fail "lm generate"

# A collection with a BM25 and a dense index, both served.
mkdir -p "$work/coll/qrels"
printf '%s\n' '{"_id": "d1", "title": "Cats", "text": "the cat sat on the mat"}' '{"_id": "d2", "text": "a dog ran in the park"}' \
  '{"_id": "d3", "text": "numbers and more numbers"}' >"$work/coll/corpus.jsonl"
printf '{"_id": "q1", "text": "cat"}\n' >"$work/coll/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\n' >"$work/coll/qrels/test.tsv"
"$garden" index build --corpus "$work/coll" --out "$work/bm25" >/dev/null 2>&1 || fail "index build bm25"
"$garden" index build --kind flat --model "$work/emb" --corpus "$work/coll" --out "$work/flat" >/dev/null 2>&1 || fail "index build flat"


start_server "$work/serve.log" --model "$work/lm" --embedder "$work/emb" --index "$work/bm25" --index "$work/flat" \
  --api-key sekret --max-body 65536 --max-generations 2
key=(-H "Authorization: Bearer sekret")

if (cd "$clients" && node openai_client_test.mjs "$url/v1" sekret "$work"); then pass; else fail "the openai client's checks (above)"; fi

# /search with curl, every kind: d1 ("the cat sat on the mat") first for "cat" in BM25.
post() { curl -s -o "$work/body" -w '%{http_code}' "${key[@]}" -H 'Content-Type: application/json' "$@"; }
code=$(post -d '{"query": "cat", "k": 2, "kind": "bm25"}' "$url/search")
[ "$code" = 200 ] && python3 -c "
import json; r = json.load(open('$work/body'))
assert r['kind'] == 'bm25' and r['data'][0]['id'] == 'd1' and r['data'][0]['text'] == 'Cats the cat sat on the mat', r
assert len(r['data']) <= 2 and r['data'][0]['score'] > 0" && pass || fail "/search bm25: $code $(cat "$work/body")"
for kind in dense hybrid; do
  code=$(post -d "{\"query\": \"the cat\", \"k\": 3, \"kind\": \"$kind\"}" "$url/search")
  [ "$code" = 200 ] && python3 -c "
import json; r = json.load(open('$work/body'))
assert r['kind'] == '$kind' and sorted(d['id'] for d in r['data']) == ['d1', 'd2', 'd3'], r
assert all(d['text'] for d in r['data'])" && pass || fail "/search $kind: $code $(cat "$work/body")"
done

# expect_api_error STATUS TYPE-OR-CODE CURL-ARGS...: the status and OpenAI's error object.
expect_api_error() {
  local want="$1" fragment="$2"
  shift 2
  local code
  code=$(curl -s -o "$work/body" -w '%{http_code}' "$@")
  if [ "$code" = "$want" ] && python3 -c "
import json; e = json.load(open('$work/body'))['error']
assert set(e) == {'message', 'type', 'param', 'code'} and e['message']" && grep -q -- "$fragment" "$work/body"; then
    pass
  else
    fail "expected $want with '$fragment' from curl $*: got $code $(cat "$work/body")"
  fi
}
json=(-H 'Content-Type: application/json')
expect_api_error 400 invalid_json "${key[@]}" "${json[@]}" -d '{"model": "lm", "prompt": ' "$url/v1/completions"
expect_api_error 400 '"param":"prompt"' "${key[@]}" "${json[@]}" -d '{"model": "lm", "prompt": {"a": 1}}' "$url/v1/completions"
expect_api_error 400 '"param":"messages"' "${key[@]}" "${json[@]}" -d '{"model": "lm", "messages": "hi"}' "$url/v1/chat/completions"
expect_api_error 400 '"param":"kind"' "${key[@]}" "${json[@]}" -d '{"query": "x", "kind": "sparse"}' "$url/search"
expect_api_error 400 '"param":"k"' "${key[@]}" "${json[@]}" -d '{"query": "x", "k": "ten"}' "$url/search"
expect_api_error 404 model_not_found "${key[@]}" "${json[@]}" -d '{"model": "gpt-4", "input": "x"}' "$url/v1/embeddings"
expect_api_error 404 unknown_url "${key[@]}" "$url/v1/nothing"
expect_api_error 401 "didn't provide an API key" "$url/v1/models"
expect_api_error 401 invalid_api_key -H "Authorization: Bearer nope" "$url/search" -d '{"query": "x"}'
head -c 70000 /dev/zero | tr '\0' 'a' >"$work/big"
expect_api_error 413 request_too_large "${key[@]}" "${json[@]}" --data-binary @"$work/big" "$url/v1/embeddings"
# A stream is server-sent events ending with [DONE].
curl -sN "${key[@]}" "${json[@]}" -d '{"model": "lm", "prompt": "the", "max_tokens": 4, "stream": true}' "$url/v1/completions" >"$work/sse"
grep -q '^data: {' "$work/sse" && [ "$(grep -v '^$' "$work/sse" | tail -1)" = "data: [DONE]" ] && pass || fail "stream: $(cat "$work/sse")"
kill -0 "$pid" 2>/dev/null && pass || fail "the server died on bad input: $(cat "$work/serve.log")"
kill -TERM "$pid"
wait "$pid" && pass || fail "garden serve did not exit 0 on SIGTERM: $(tail -3 "$work/serve.log")"

# SIGTERM while a request is in flight (held by a 1.5 s batching wait): it is answered, then
# the server exits 0.
start_server "$work/serve2.log" --model "$work/lm" --embedder "$work/emb" --batch-wait-ms 1500
curl -s -o "$work/late" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"model": "emb", "input": "the cat"}' \
  "$url/v1/embeddings" >"$work/late_code" &
curl_pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$curl_pid"
[ "$(cat "$work/late_code")" = 200 ] && grep -q '"embedding"' "$work/late" && pass || fail "in-flight request on SIGTERM: $(cat "$work/late_code") $(cat "$work/late")"
wait "$pid" && grep -q "stopped" "$work/serve2.log" && pass || fail "garden serve after SIGTERM: $(cat "$work/serve2.log")"

report
