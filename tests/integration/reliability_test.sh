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
expect_error 2 "--out $work/d already holds files" -- "$garden" lm train --train "$work/c5/corpus.jsonl" --valid "$work/c5/corpus.jsonl" --out "$work/d"
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

report
