#!/usr/bin/env bash
# garden wiki and garden rag query end to end: a generated collection compiled into a wiki,
# re-ingest as a no-op, queries with citations and --save, lint clean then after a deleted page,
# the RAG baseline with the same token counter, and bad input (init over someone's folder,
# missing files, a folder that is no wiki, an unknown backend, a lint that finds problems).
set -uo pipefail
garden="$1"
here="$(dirname "$0")"
source "$here/helpers.sh"

"$garden" wiki evolving-facts --out "$work/facts" --towns 12 --sources 48 --rivers 4 --contradictions 0 --questions 30 >"$work/gen" &&
  [ "$(ls "$work/facts/sources" | wc -l)" = 48 ] && pass || fail "evolving-facts: $(cat "$work/gen")"
"$garden" wiki init "$work/kb" >/dev/null && [ -f "$work/kb/WIKI.md" ] && pass || fail "wiki init"
"$garden" wiki ingest "$work/facts/sources" --wiki "$work/kb" >"$work/ingest" && grep -q "ingested 48 source(s), 0 unchanged" "$work/ingest" &&
  pass || fail "ingest a folder: $(cat "$work/ingest")"
before=$(cd "$work/kb" && find . -type f -exec sha256sum {} + | sort)
"$garden" wiki ingest "$work/facts/sources/doc-0001.md" --wiki "$work/kb" >"$work/again" && grep -q "already ingested" "$work/again" &&
  [ "$(cd "$work/kb" && find . -type f -exec sha256sum {} + | sort)" = "$before" ] && pass || fail "re-ingest changed the wiki: $(cat "$work/again")"

# A question from the generated set, answered with citations; --json and --save.
question=$(python3 -c "import json,sys; q=[json.loads(l) for l in open(sys.argv[1])]; print(next(x['text'] for x in q if x['type']=='Q1'))" "$work/facts/questions.jsonl")
gold=$(python3 -c "import json,sys; q=[json.loads(l) for l in open(sys.argv[1])]; print(next(x['answer'] for x in q if x['type']=='Q1'))" "$work/facts/questions.jsonl")
"$garden" wiki query "$question" --wiki "$work/kb" >"$work/q" && grep -qx "answer: $gold" "$work/q" && grep -q '\^\[doc-' "$work/q" &&
  pass || fail "wiki query '$question' (gold $gold): $(cat "$work/q")"
"$garden" wiki query "$question" --wiki "$work/kb" --json --save >"$work/qj" &&
  python3 - "$work/qj" "$work/kb" "$gold" <<'PY' && pass || fail "query --json --save: $(cat "$work/qj")"
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["answer"] == sys.argv[3] and r["tokens_read"] > 0 and r["saved"], r
assert os.path.exists(os.path.join(sys.argv[2], "wiki", "syntheses", r["saved"] + ".md"))
assert open(os.path.join(sys.argv[2], "wiki", "log.md")).read().rstrip().split("\n")[-2].startswith("- answer:")
PY
"$garden" wiki lint --wiki "$work/kb" >"$work/lint" && grep -q "^0 problem(s)" "$work/lint" && pass || fail "lint of a fresh wiki: $(cat "$work/lint")"
"$garden" rag query "$question" --wiki "$work/kb" --k 10 --json >"$work/rag" &&
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['tokens_read'] > 0 and len(r['chunks']) == 10, r" "$work/rag" &&
  pass || fail "rag query: $(cat "$work/rag")"

# A deleted concept page: lint reports the broken links and exits 1; --fix does not invent it back.
rm "$work/kb/wiki/concepts/$(ls "$work/kb/wiki/concepts" | head -1)"
expect_error 1 "lint found" -- "$garden" wiki lint --wiki "$work/kb"
grep -q "^broken_link: " "$work/out" && pass || fail "lint did not name the broken link: $(cat "$work/out")"

mkdir -p "$work/mine" && echo keep >"$work/mine/file.txt"
expect_error 2 "overwrites nothing" -- "$garden" wiki init "$work/mine"
[ "$(cat "$work/mine/file.txt")" = keep ] && pass || fail "init touched an existing folder"
expect_error 2 "no such file or folder" -- "$garden" wiki ingest "$work/missing.md" --wiki "$work/kb"
expect_error 1 "not a wiki" -- "$garden" wiki query "Who?" --wiki "$work/mine"
expect_error 2 "extractor or llm:" -- "$garden" wiki ingest "$work/facts/sources/doc-0002.md" --wiki "$work/kb" --backend magic
expect_error 2 "needs --model" -- "$garden" wiki ingest "$work/facts/sources/doc-0002.md" --wiki "$work/kb" --backend llm:http://127.0.0.1:9/v1
expect_error 2 "--wiki DIR" -- "$garden" rag query "Who?"
expect_error 2 "--model is required" -- "$garden" rag --query "Who?"
expect_error 2 "did not write there" -- "$garden" wiki evolving-facts --out "$work/mine"
report
