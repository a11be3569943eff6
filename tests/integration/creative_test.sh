#!/usr/bin/env bash
# Roll the dice through the CLI: task folders of the four tasks, a toy model trained with each
# objective (a stop and a resume), eval at greedy and a temperature with the answers file, and
# bad input refused with one-line errors, never over foreign files.
set -uo pipefail
garden="$1"
source "$(dirname "$0")/helpers.sh"

for task in sibling triangle circle line; do
  "$garden" creative generate --task "$task" --train 200 --test 40 --children 10 --vertices 40 --out "$work/$task" >/dev/null 2>&1 ||
    fail "creative generate --task $task failed"
done
python3 - "$work" <<'PY' && pass || fail "task folders are not as documented"
import json, os, sys
w = sys.argv[1]
for task in ["sibling", "triangle", "circle", "line"]:
    spec = json.load(open(os.path.join(w, task, "task.json")))
    train = [json.loads(l) for l in open(os.path.join(w, task, "train.jsonl"))]
    test = [json.loads(l) for l in open(os.path.join(w, task, "test.jsonl"))]
    assert spec["task"] == task and len(train) == 200 and len(test) == 40, task
    marker = "tri:" if task == "triangle" else "<q>"
    assert all(t["prompt"].endswith(marker) for t in test), task
    hashes = [r["prompt"].split()[0] for r in train if not r["prompt"].startswith("edge:")] + [t["prompt"].split()[0] for t in test]
    assert len(set(hashes)) == len(hashes), task + ": hashes repeat"
    if task == "circle":
        edges = [r["answer"].split(" <sep> ") for r in train]
        assert all(len(e) == 9 for e in edges), "a circle has 9 edges"
PY

common=(--task-dir "$work/sibling" --d-model 32 --n-layers 1 --n-heads 2 --steps 6 --batch 16 --warmup 1 --threads 1)
for objective in ntp teacherless diffusion; do
  "$garden" creative train "${common[@]}" --objective "$objective" --out "$work/run-$objective" >"$work/train.out" 2>&1 ||
    fail "creative train --objective $objective: $(cat "$work/train.out")"
  "$garden" creative eval --model "$work/run-$objective" --train-prompts 20 >"$work/eval.out" 2>&1 &&
    grep -q "^coherence	" "$work/eval.out" && grep -q "^creativity	" "$work/eval.out" && grep -q "^train_memorization	" "$work/eval.out" &&
    pass || fail "creative eval of $objective: $(cat "$work/eval.out")"
done
"$garden" creative eval --model "$work/run-ntp" --temperature 1 --seed 3 --out "$work/answers.jsonl" >"$work/t1.out" 2>/dev/null &&
  "$garden" creative eval --model "$work/run-ntp" --temperature 1 --seed 3 >"$work/t1b.out" 2>/dev/null && diff -q "$work/t1.out" "$work/t1b.out" >/dev/null &&
  pass || fail "the same seed gave other scores"
python3 - "$work/answers.jsonl" <<'PY' && pass || fail "the answers file lacks rows or verdicts"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 40 and all({"answer", "hash", "ended", "coherent", "memorized"} <= r.keys() for r in rows)
PY
# Stopped after 3 steps and resumed, the run ends at step 6.
"$garden" creative train "${common[@]}" --out "$work/run-r" --stop-after 3 >"$work/stop.out" 2>&1 && grep -q "stopped at step 3" "$work/stop.out" &&
  "$garden" creative train "${common[@]}" --out "$work/run-r" --resume >"$work/resume.out" 2>&1 && grep -q "^step 6" "$work/resume.out" &&
  pass || fail "creative train --stop-after / --resume: $(cat "$work/stop.out" "$work/resume.out")"

# Bad input.
expect_error 2 "unknown creative task 'sudoku'" -- "$garden" creative generate --task sudoku --out "$work/x"
expect_error 2 "--cycle-vertices 11 must be in 3..10" -- "$garden" creative generate --task circle --cycle-vertices 11 --out "$work/x"
mkdir -p "$work/mine" && echo "notes of mine" >"$work/mine/notes.txt"
expect_error 2 "$work/mine" -- "$garden" creative generate --task circle --out "$work/mine"
grep -q "notes of mine" "$work/mine/notes.txt" && pass || fail "creative generate wrote into a folder it does not own"
expect_error 2 "too few distinct hashes" -- "$garden" creative generate --task circle --train 50 --test 10 --hash-length 1 --out "$work/x"
expect_error 2 "unknown objective 'gan'" -- "$garden" creative train "${common[@]}" --objective gan --out "$work/run-x"
expect_error 2 "unknown prefix 'salt'" -- "$garden" creative train "${common[@]}" --prefix salt --out "$work/run-x"
expect_error 1 "no task.json" -- "$garden" creative train --task-dir "$work/none" --out "$work/run-x"
expect_error 1 "not the task it was trained on" -- "$garden" creative eval --model "$work/run-ntp" --task-dir "$work/circle"
expect_error 1 "a model of garden creative train is needed" -- "$garden" creative eval --model "$work/mine"
echo "notes of mine" >"$work/mine.jsonl"
expect_error 2 "exists and is not an earlier answers file" -- "$garden" creative eval --model "$work/run-ntp" --out "$work/mine.jsonl"
report
