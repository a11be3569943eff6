#!/usr/bin/env bash
# cmake/check_layers.cmake accepts today's tree and refuses an include that points up a
# layer, a folder that is no layer, and a wing used from below.
set -euo pipefail
checker=$1
tree=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cmake -DSOURCE_DIR="$tree" -P "$checker"

expect_refused() {  # <file> <line> <expected text>
  rm -rf "$scratch/src" && mkdir -p "$scratch/src/core" "$scratch/src/$(dirname "$1")"
  printf '%s\n' "$2" > "$scratch/src/$1"
  if out=$(cmake -DSOURCE_DIR="$scratch/src" -P "$checker" 2>&1); then
    echo "accepted: $1 with $2"; exit 1
  fi
  grep -qF "$3" <<< "$out" || { echo "refused without naming '$3': $out"; exit 1; }
}
expect_refused model/transformer.cpp '#include "garden/train/trainer.h"' 'src/garden/model/transformer.cpp: #include "garden/train/trainer.h"'
expect_refused train/trainer.h '#include "garden/retrieval/collection.h"' 'train/ may use: core;text;model;train'
expect_refused eval/sts.cpp '#include "garden/limit/recall.h"' 'src/garden/eval/sts.cpp'
expect_refused succinct/dfa.cpp '#include "garden/text/corpus.h"' 'src/garden/succinct/dfa.cpp'
expect_refused stray/x.cpp '#include "garden/core/json.h"' 'a folder that is no layer'
echo "layers: the tree passes and five upward includes are refused"
