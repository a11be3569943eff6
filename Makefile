# The two commands of the README. Each installs what is missing (scripts/setup), builds,
# and runs: `make demo` the reproductions on built-in defaults, `make test` the test suite.
BUILD ?= build
JOBS ?= $(shell nproc)
# Tests, benchmarks and the demo use the shared data folder beside the checkout when it exists.
DATA ?= $(firstword $(wildcard ../shared/data) $(wildcard ../data))
export GARDEN_DATA ?= $(abspath $(DATA))

# ccache: paths relative to the checkout, so a fresh clone elsewhere hits the same cache,
# and the sloppiness that lets it cache compilations using the precompiled header.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_SLOPPINESS ?= pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: setup build build-tests demo test test-sanitize fuzz bench clean

setup:
	scripts/setup

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DGARDEN_BUILD_TESTS=ON -DGARDEN_BUILD_BENCH=ON

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) --parallel $(JOBS) --target garden

build-tests: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) --parallel $(JOBS)

demo: build
	$(BUILD)/src/garden/garden repro all --scale quick --out runs/demo
	@echo "open runs/demo/report.html"

test: build-tests
	cd $(BUILD) && ctest --output-on-failure --label-exclude slow --timeout 900 --parallel $(JOBS)

# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer, in their own build
# folder (the instrumented code is several times slower). Any report fails the test.
SANITIZE_BUILD ?= build-sanitize
$(SANITIZE_BUILD)/build.ninja:
	cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DGARDEN_BUILD_TESTS=ON -DGARDEN_BUILD_BENCH=OFF -DGARDEN_SANITIZE=ON

# The SentencePiece module lives in its own link namespace (dlmopen), which the ASan runtime
# cannot serve: the tests that load it are left out here (they run in make test).
SANITIZE_SKIPS = SentencePiece\.|TokenizerErrors\.|ModelFolder\.CarriesItsTokenizerAndLoadsAfterAMove
test-sanitize: setup $(SANITIZE_BUILD)/build.ninja
	cmake --build $(SANITIZE_BUILD) --parallel $(JOBS) --target garden_tests
	cd $(SANITIZE_BUILD) && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp \
	  ctest --output-on-failure -L unit --label-exclude slow -E '$(SANITIZE_SKIPS)' --timeout 1800 --parallel $(JOBS)

# libFuzzer targets for every reader (tests/fuzz), built with clang, ASan and UBSan in their own
# build folder, each run for FUZZ_SECONDS from its seeds; not part of `make test`.
# scripts/fuzz prints a line per target (executions, coverage, crashes) and keeps what it found.
FUZZ_BUILD ?= build-fuzz
export FUZZ_SECONDS ?= 60
$(FUZZ_BUILD)/build.ninja:
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DGARDEN_FUZZ=ON

fuzz: setup $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) --parallel $(JOBS) --target garden_fuzz
	scripts/fuzz $(FUZZ_BUILD)

bench: build-tests
	/usr/bin/python3 bench/lm_train.py --bench-binary $(BUILD)/bench/garden_bench_lm
	/usr/bin/python3 bench/blas.py --bench-binary $(BUILD)/bench/garden_bench_lm
	/usr/bin/python3 bench/ann.py --build-dir $(BUILD)
	/usr/bin/python3 bench/bm25.py --build-dir $(BUILD)
	/usr/bin/python3 bench/generation.py --build-dir $(BUILD)
	/usr/bin/python3 bench/encode.py --build-dir $(BUILD)
	/usr/bin/python3 bench/encode.py --build-dir $(BUILD) --head ance
	/usr/bin/python3 bench/ance.py --build-dir $(BUILD)
	/usr/bin/python3 bench/data_parallel.py --build-dir $(BUILD)
	bench/serve_load.sh $(BUILD)/src/garden/garden

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
