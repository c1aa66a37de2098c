# Porthole: the two commands (`make run`, `make test`) and their helpers.
# Every target installs what it needs first, so a fresh Debian 12 machine works.

BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PORT     ?= 3001

.PHONY: all deps npm-deps build test run bench bench-full fuzz clean

all: build

# Installs only the Debian packages from deps/debian-packages.txt that are missing.
deps:
	@deps/install.sh

# Test-only JavaScript packages, pinned by package-lock.json.
npm-deps: deps
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund; fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

test: build npm-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# porthole-cloud and one simulated robot; prints the URL to open; Ctrl-C stops both.
run: build
	@scripts/run.sh $(BUILD) $(PORT)

# Benchmarks print their figures and one table (under 3 minutes); see
# bench/README.md and docs/PERFORMANCE.md. `make bench-full`: target sizes.
bench: build npm-deps
	bench/run.sh $(BUILD)

bench-full: build npm-deps
	bench/run.sh --full $(BUILD)

# Coverage-guided fuzzing of codec, protocol and router with libFuzzer
# (clang, ASan, UBSan), FUZZ_SECONDS long; new inputs go to build/fuzz-corpus.
FUZZ_SECONDS ?= 60
FUZZ_SOURCES := tests/fuzz/fuzz_router.c $(filter-out %/server.c %/main.c %/config.c,$(wildcard src/cloud/*.c)) $(wildcard src/common/*.c)
fuzz: deps
	mkdir -p $(BUILD)/fuzz-corpus
	clang -g -O1 -std=c11 -D_GNU_SOURCE -DPORTHOLE_VERSION='"fuzz"' -Isrc \
	  -fsanitize=fuzzer,address,undefined $(FUZZ_SOURCES) \
	  $$(pkg-config --cflags --libs jansson libcrypto) -o $(BUILD)/fuzz_router
	$(BUILD)/fuzz_router -max_len=4096 -max_total_time=$(FUZZ_SECONDS) \
	  $(BUILD)/fuzz-corpus tests/fuzz/corpus

clean:
	rm -rf $(BUILD)
