# Shared by the integration scripts: a scratch folder removed at exit, pass/fail counters,
# expect_error, start_server and toy_lm_and_embedder. Source it after setting garden=PATH; finish
# with `report`.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error CODE FRAGMENT -- command...: exit code CODE, and the error is the last stderr
# line, one line ("garden: ...") containing FRAGMENT; progress lines may come before it.
expect_error() {
  local code="$1" fragment="$2"
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then fail "$* exited $rc, expected $code ($(cat "$work/err"))"; return; fi
  if ! tail -1 "$work/err" | grep -qF -- "$fragment"; then fail "$*: the last stderr line lacks '$fragment': $(cat "$work/err")"; return; fi
  if ! tail -1 "$work/err" | grep -q "^garden: "; then fail "$*: error is not one line: $(cat "$work/err")"; return; fi
  pass
}

# start_server LOG ARGS...: $garden serve on a free port in the background; sets pid and url.
start_server() {
  local log="$1"
  shift
  "$garden" serve --port 0 --threads 1 "$@" 2>"$log" &
  pid=$!
  for _ in $(seq 1 300); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: garden serve did not start: $(cat "$log")"
  exit 1
}

# toy_lm_and_embedder: a byte-level LM ($work/lm: d 16, one layer, 3 steps on short lines) and
# an embedder of it ($work/emb), for tests that need a model of each kind and not its quality.
toy_lm_and_embedder() {
  for i in $(seq 1 200); do echo "the wing $i gives lift while the body $((i * 3)) gives drag"; done >"$work/toy_corpus.txt"
  "$garden" lm train --train "$work/toy_corpus.txt" --valid "$work/toy_corpus.txt" --d-model 16 --n-layers 1 --n-heads 2 --seq 32 \
    --batch 4 --steps 3 --warmup 1 --eval-windows 2 --threads 1 --out "$work/lm" >/dev/null 2>&1 || fail "lm train (the toy LM) failed"
  "$garden" embed init --model "$work/lm" --out "$work/emb" >/dev/null 2>&1 || fail "embed init (the toy embedder) failed"
}

report() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
