# Shared by the integration scripts: a scratch folder removed at exit, pass/fail counters,
# expect_error and start_server. Source it after setting garden=PATH; finish with `report`.
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

report() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
