# Makefile: a thin wrapper over CMake for the usual verbs. The build itself
# lives in CMakeLists.txt; this file only runs scripts/bootstrap (quiet and
# idempotent, so it runs once per make invocation) before anything that
# needs the Debian packages, then calls cmake/ctest.
#
#   make / make build   Release build in build/
#   make run            PageRank on datasets/wiki-Vote.txt.gz, prints the summary
#   make test           the Criterion suites and end-to-end tests under ctest
#   make bench          bench/run
#   make sanitize       Debug + ASan/UBSan build in build-asan/, ctest there
#   make tsan           Debug (-O1) + ThreadSanitizer build in build-tsan/, ctest there
#   make install        cmake --install build (PREFIX=... to override the prefix)
#   make clean          remove build/, build-asan/ and build-tsan/
#
# BOOTSTRAP=true skips the package check (e.g. on a non-Debian system that
# already has the libraries).

BUILD_DIR := build
ASAN_DIR  := build-asan
TSAN_DIR  := build-tsan
# The suites that run threads (the loader's readers run in worker threads
# too); the others (partition, codec, agg) are single-threaded.
TSAN_SUITES := test_loader|test_store|test_spill|test_outofcore|test_acct|test_engine|test_program|test_cli|test_plugin|test_fault|test_limits|test_examples|test_cc|test_cluster|test_netns|test_gather|test_outputs|test_secrets|test_trust
NPROC     := $(shell nproc 2>/dev/null || echo 4)
BOOTSTRAP ?= scripts/bootstrap
CMAKE     ?= cmake
CTEST     ?= ctest

.DEFAULT_GOAL := build
.PHONY: all build bootstrap run test bench sanitize tsan install clean

all: build

# Phony, so make runs it at most once per invocation however many targets
# depend on it; every build depends on it, so that under make -j it still
# finishes before cmake looks for the libraries.
bootstrap:
	$(BOOTSTRAP)

build: bootstrap
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BUILD_DIR) -j $(NPROC)

run: bootstrap build
	$(BUILD_DIR)/graphx-run pagerank -i datasets/wiki-Vote.txt.gz

test: bootstrap build
	$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure

bench: bootstrap build
	bench/run

# A separate tree: sanitizer flags must not leak into the Release build.
sanitize: bootstrap
	$(CMAKE) -S . -B $(ASAN_DIR) -DGX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE) --build $(ASAN_DIR) -j $(NPROC)
	$(CTEST) --test-dir $(ASAN_DIR) --output-on-failure

# Its own tree too: TSan and ASan cannot share a process. The suites that
# run threads (TSAN_SUITES) run; ctest sets
# TSAN_OPTIONS (tests/tsan.supp, halt_on_error) per test.
tsan: bootstrap
	$(CMAKE) -S . -B $(TSAN_DIR) -DGX_TSAN=ON -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE) --build $(TSAN_DIR) -j $(NPROC)
	$(CTEST) --test-dir $(TSAN_DIR) --output-on-failure -R '$(TSAN_SUITES)'

install: build
	$(CMAKE) --install $(BUILD_DIR) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR)
