# flipscope: top-level entry points. Everything a fresh Debian 12 machine
# needs is installed here (apt-get as root, or through sudo).
#   make demo    build, then run the seed reproduction on the built-in model
#   make test    build, run the test suite, then run it again under ASan+UBSan
#   make bench   build, run the benchmarks (bench/README.md)
#   make fuzz    build the libFuzzer targets (clang) in build-fuzz/, run each
#                FUZZ_SECONDS (default 60) on its corpus (docs/robustness.md)

JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
BUILD   ?= build
ASAN    ?= build-asan
CMAKE_FLAGS ?=
FUZZ    ?= build-fuzz
FUZZ_SECONDS ?= 60
# make test runs every fuzz target this long on its corpus after the suites.
FUZZ_TEST_SECONDS ?= 8

# Debian packages the build and the tests need (tools/deps.sh installs the missing ones).
DEB_BUILD = gcc make cmake pkg-config libcmocka-dev libmpfr-dev libgmp-dev \
            libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libcjson-dev
DEB_OPTIONAL = libdnnl-dev libxnnpack-dev libpthreadpool-dev chromium clang libclang-rt-14-dev

.PHONY: all deps build demo test test-fast test-asan test-fuzz fuzz bench clean runners

all: build

deps:
	@bash tools/deps.sh $(DEB_BUILD) -- $(DEB_OPTIONAL)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/flipscope demo

# runner:ort needs npm onnxruntime-node in runners/ort; skipped (tests print why) without node/npm.
# (re)installed only when runners/ort/package-lock.json is newer than the installed tree.
runners:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	    if [ ! -f runners/ort/node_modules/.package-lock.json ] || \
	       [ runners/ort/package-lock.json -nt runners/ort/node_modules/.package-lock.json ]; then \
	        (cd runners/ort && npm ci --ignore-scripts --no-audit --no-fund) || \
	            echo "make runners: npm ci failed; runner:ort will be unavailable"; \
	    fi; \
	else echo "make runners: node/npm not found; runner:ort will be unavailable"; fi

test-fast: build runners
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DFSC_SANITIZE=ON -DCMAKE_C_FLAGS=-O1 $(CMAKE_FLAGS)

test-asan: deps runners $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    FSC_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

# Fuzz build: clang with libFuzzer, ASan and UBSan (cmake/fuzz.cmake), then
# each target on its corpus (fuzz/ci.sh). Without clang or its libFuzzer
# runtime (libclang-rt-14-dev) the step says so and is skipped.
FUZZ_CC ?= clang
fuzz: deps
	@bash fuzz/ci.sh $(FUZZ) $(FUZZ_SECONDS) $(JOBS) $(FUZZ_CC)

test-fuzz: deps
	@bash fuzz/ci.sh $(FUZZ) $(FUZZ_TEST_SECONDS) $(JOBS) $(FUZZ_CC)

test: test-fast test-asan test-fuzz
	@echo "make test: all tests passed (normal build, ASan+UBSan build, fuzz targets on their corpora)"

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
