# Shared by the integration scripts: a scratch folder removed at exit, pass/fail counters and
# expect_error. Source it after setting garden=PATH; finish with `report`.
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

report() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
