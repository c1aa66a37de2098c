# Porthole: the two commands (`make run`, `make test`) and their helpers.
# Every target installs what it needs first, so a fresh Debian 12 machine works.

BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PORT     ?= 3001

.PHONY: all deps deps-build npm-deps web-deps build build-run test run bench bench-full fuzz soak clean

all: build

# Installs only the Debian packages from deps/debian-packages.txt that are
# missing: `deps-build` what building and running need, `deps` also what
# the tests need (clang, cmocka, chromium, Node.js...).
deps-build:
	@deps/install.sh build

deps:
	@deps/install.sh build test

# Test-only JavaScript packages, pinned by package-lock.json.
npm-deps: deps
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund; fi

# The viewer's runtime package (three.js for the 3D tab), without the
# test-only ones, when it is not there yet.
web-deps: deps-build
	@if [ ! -f node_modules/three/package.json ]; then npm ci --omit=dev --no-audit --no-fund; fi

# Everything: both programs, both variants (plain and ASan+UBSan), the tests
# and the benchmarks.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTHOLE_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)

# Only the two programs, with only the packages they need: a first look on
# a fresh machine stays light. Shares $(BUILD) with `make build`, whose
# configuration (tests on) it keeps when it finds it, so that `make run`
# after `make test` leaves the tests in place for the next ctest.
build-run: deps-build
	@if grep -q '^PORTHOLE_TESTS:BOOL=ON' $(BUILD)/CMakeCache.txt 2>/dev/null; then \
	  cmake -S . -B $(BUILD); \
	else \
	  cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTHOLE_TESTS=OFF; \
	fi
	cmake --build $(BUILD) -j $(JOBS) --target porthole-cloud porthole-robot

test: build npm-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# porthole-cloud and one simulated robot; prints the URL to open; Ctrl-C stops both.
run: build-run web-deps
	@scripts/run.sh $(BUILD) $(PORT)

# Benchmarks print their figures and one table (under 3 minutes); see
# bench/README.md and docs/PERFORMANCE.md. `make bench-full`: target sizes.
bench: build npm-deps
	bench/run.sh $(BUILD)

bench-full: build npm-deps
	bench/run.sh --full $(BUILD)

# Coverage-guided fuzzing with libFuzzer (clang, ASan, UBSan), each target
# FUZZ_SECONDS long, in a clang build of its own ($(BUILD)/fuzz): the
# cloud's codecs (native and Socket.IO), protocol and router, the robot's
# check of SDP answers, a WHEP player's offers and SDP fragments. New
# inputs are kept in $(BUILD)/fuzz/corpus-NAME (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
fuzz: deps
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) $(BUILD)/fuzz

# Soak test, not part of `make test`: SOAK_MINUTES of viewers joining and
# leaving, switches, REST calls and cloud restarts against one ASan+UBSan
# porthole-robot that is never restarted, in a loopback-only network
# namespace; prints a summary and fails on any crash, sanitizer report,
# leak or growth (tests/soak/soak.c). SOAK_SEED replays a run's choices;
# the logs go to $(BUILD)/soak-logs/. quarantine_size_mb bounds ASan's hold on
# freed memory, so that RSS can show growth.
SOAK_MINUTES ?= 30
SOAK_SEED    ?=
soak: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTHOLE_SANITIZERS=ON
	cmake --build $(BUILD) -j $(JOBS) --target soak porthole-robot-asan porthole-cloud-asan
	SOAK_MINUTES=$(SOAK_MINUTES) SOAK_SEED=$(SOAK_SEED) SOAK_LOG_DIR=$(abspath $(BUILD))/soak-logs \
	PORTHOLE_ROBOT=$(abspath $(BUILD))/porthole-robot-asan \
	PORTHOLE_CLOUD=$(abspath $(BUILD))/porthole-cloud-asan PORTHOLE_WEB_ROOT=$(CURDIR)/web \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:fast_unwind_on_malloc=0:quarantine_size_mb=64 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	tests/netns-run.sh $(BUILD)/soak

clean:
	rm -rf $(BUILD)
