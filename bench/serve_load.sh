#!/usr/bin/env bash
# garden serve under load: wrk (Debian's) on loopback against /v1/embeddings (one sentence per
# request) and /search (bm25 and dense, k 10) at 1, 8 and 64 connections, each for SECONDS.
# Prints requests/s, p50 and p99 latency and the errors (non-2xx answers and socket errors)
# of each run, and the server's resident memory after a warm-up and after every run, with
# the number of requests answered in between: memory must stay flat.
# The models are the shared base LM (garden lm base, from the artifact cache) and a
# mean-pooling embedder on it; the collection is $GARDEN_DATA/npl (11,429 documents) when the
# data root has it, else a generated one of 5,000.
#   bench/serve_load.sh GARDEN_BINARY [SECONDS]     ($ROUTES: a subset of "embeddings search-bm25 search-dense")
set -euo pipefail
garden="$1"
seconds="${2:-10}"
command -v wrk >/dev/null || { echo "serve_load: wrk is missing (scripts/setup installs it)"; exit 1; }
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

lm=$("$garden" lm base 2>/dev/null)
"$garden" embed init --model "$lm" --pooler mean --max-tokens 128 --out "$work/emb" >/dev/null
collection="${GARDEN_DATA:-}/npl"
if [ ! -f "$collection/corpus.jsonl" ]; then
  collection="$work/generated"
  mkdir -p "$collection/qrels"
  python3 - "$collection" <<'EOF'
import json, random, sys
random.seed(0)
words = "cell protein gene cancer virus immune drug blood brain heart risk study patients trial dose effect".split()
with open(f"{sys.argv[1]}/corpus.jsonl", "w") as f:
    for i in range(5000):
        f.write(json.dumps({"_id": f"d{i}", "text": " ".join(random.choices(words, k=40))}) + "\n")
with open(f"{sys.argv[1]}/queries.jsonl", "w") as f:
    f.write(json.dumps({"_id": "q1", "text": "cancer drug trial"}) + "\n")
open(f"{sys.argv[1]}/qrels/test.tsv", "w").write("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
EOF
fi
"$garden" index build --corpus "$collection" --out "$work/bm25" >/dev/null 2>&1
"$garden" index build --kind flat --model "$work/emb" --corpus "$collection" --out "$work/flat" >/dev/null 2>&1
docs=$(wc -l <"$collection/corpus.jsonl")

"$garden" serve --port 0 --threads 2 --model "$lm" --embedder "$work/emb" --index "$work/bm25" --index "$work/flat" \
  --http-threads 64 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 300); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "serve_load: the server did not start: $(cat "$work/serve.log")"; exit 1; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
EOF
embed='{"model": "emb", "input": "the effect of a drug on the immune response of patients"}'
bm25='{"query": "the effect of a drug on the immune response", "k": 10, "kind": "bm25"}'
dense='{"query": "the effect of a drug on the immune response", "k": 10, "kind": "dense"}'

# Warm-up: every route once a few hundred times, so that allocator pools and caches are
# filled before memory is read.
for body in "$embed" "$bm25" "$dense"; do
  route=/v1/embeddings
  [[ "$body" == *query* ]] && route=/search
  BODY="$body" wrk -t1 -c4 -d2s -s "$work/post.lua" "$url$route" >/dev/null
done
start_rss=$(rss_mb)
echo "garden serve under wrk: base LM, mean-pooling embedder, $(basename "$collection") ($docs documents), ${seconds}s per run, 2 libtorch threads"
echo "resident memory after warm-up: ${start_rss} MB"
echo
echo "| route | connections | requests/s | p50 ms | p99 ms | errors | requests | RSS after, MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
total=0
for name in ${ROUTES:-embeddings search-bm25 search-dense}; do
  case $name in
    embeddings) body="$embed" route=/v1/embeddings ;;
    search-bm25) body="$bm25" route=/search ;;
    search-dense) body="$dense" route=/search ;;
  esac
  for connections in 1 8 64; do
    threads=$((connections < 2 ? 1 : 2))
    BODY="$body" wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$url$route" >"$work/wrk.txt"
    python3 - "$work/wrk.txt" "$name" "$connections" "$(rss_mb)" <<'EOF'
import re, sys
text, name, connections, rss = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4]
def ms(label):
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
kinds = [("non-2xx", int(non2xx.group(1)) if non2xx else 0)]
if sock:
    kinds += list(zip(("connect", "read", "write", "timeout"), (int(x) for x in sock.groups())))
errors = sum(n for _, n in kinds)
detail = " (" + ", ".join(f"{n} {kind}" for kind, n in kinds if n) + ")" if errors else ""
print(f"| {name} | {connections} | {rps:.0f} | {ms('50%'):.2f} | {ms('99%'):.2f} | {errors}{detail} | {requests} | {rss} |")
open(sys.argv[1] + ".n", "w").write(str(requests))
EOF
    total=$((total + $(cat "$work/wrk.txt.n")))
  done
done
end_rss=$(rss_mb)
echo
echo "resident memory: ${start_rss} MB after warm-up, ${end_rss} MB after ${total} more requests"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
