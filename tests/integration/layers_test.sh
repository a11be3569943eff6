#!/usr/bin/env bash
# The build's source checks accept today's tree and refuse what they exist to refuse:
# cmake/check_layers.cmake an include that points up a layer, a folder that is no layer and a
# wing used from below; cmake/check_parallel_loops.cmake at::parallel_for, at::parallel_reduce
# and OpenMP pragmas in files built without -fopenmp (where they run on one thread), while a
# kernel file built with OpenMP may use pragmas.
set -euo pipefail
checks=$1
tree=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cmake -DSOURCE_DIR="$tree" -P "$checks/check_layers.cmake"
cmake -DSOURCE_DIR="$tree" -P "$checks/check_parallel_loops.cmake"

write() {  # <file> <line>
  rm -rf "$scratch/src" && mkdir -p "$scratch/src/core" "$scratch/src/$(dirname "$1")"
  printf '%s\n' "$2" > "$scratch/src/$1"
}
expect_refused() {  # <checker> <file> <line> <expected text>
  write "$2" "$3"
  if out=$(cmake -DSOURCE_DIR="$scratch/src" -P "$checks/$1" 2>&1); then
    echo "$1 accepted: $2 with $3"; exit 1
  fi
  grep -qF "$4" <<< "$out" || { echo "$1 refused without naming '$4': $out"; exit 1; }
}
expect_refused check_layers.cmake model/transformer.cpp '#include "garden/train/trainer.h"' 'src/garden/model/transformer.cpp: #include "garden/train/trainer.h"'
expect_refused check_layers.cmake train/trainer.h '#include "garden/retrieval/collection.h"' 'train/ may use: core;text;model;train'
expect_refused check_layers.cmake eval/sts.cpp '#include "garden/limit/recall.h"' 'src/garden/eval/sts.cpp'
expect_refused check_layers.cmake succinct/dfa.cpp '#include "garden/text/corpus.h"' 'src/garden/succinct/dfa.cpp'
expect_refused check_layers.cmake stray/x.cpp '#include "garden/core/json.h"' 'a folder that is no layer'
expect_refused check_parallel_loops.cmake model/generation.cpp '  at::parallel_for(0, n, 8, [&](int64_t begin, int64_t end) {});' 'src/garden/model/generation.cpp'
expect_refused check_parallel_loops.cmake train/trainer.cpp '  auto total = at::parallel_reduce(0, n, 1, 0.0, f, g);' 'src/garden/train/trainer.cpp'
expect_refused check_parallel_loops.cmake retrieval/dense.cpp '#pragma omp parallel for' 'src/garden/retrieval/dense.cpp'
write model/decode_kernels.cpp '#pragma omp parallel for schedule(static)'
cmake -DSOURCE_DIR="$scratch/src" -P "$checks/check_parallel_loops.cmake" || { echo "refused a pragma in a file built with OpenMP"; exit 1; }
echo "source checks: the tree passes, five upward includes and three serial-only parallel loops are refused"
