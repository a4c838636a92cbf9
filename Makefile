# hearth — the commands a user and CI run. Each installs what is missing first.
#   make          release build (build/release)
#   make test     every test (unit, conformance, integration); ends with "N passed, N failed"
#   make bench    benchmarks; figures are recorded in bench/RESULTS.md
#   make bench-long  the same, with prompt and generation speed also at a 16384-token depth
#   make serve    builds and runs hearth's main job
#   make screenshots  the pages' pictures in docs/screenshots, taken by the browser tests
.PHONY: all build deps test bench bench-long serve debug asan clean format screenshots

JOBS ?= $(shell nproc)
HEARTH := build/release/src/cli/hearth

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

debug: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@cd build/asan && ctest -j $(JOBS) --output-on-failure

test:
	@bash scripts/test.sh

bench: build
	@bash scripts/bench.sh

bench-long: build
	@HEARTH_BENCH_DEPTHS=0,4096,16384 bash scripts/bench.sh

serve: build
	@bash scripts/serve.sh

# The browser tests save a picture of each page; here they go to docs/screenshots (a test run
# alone writes them to a temporary folder, so the committed pictures change only from here).
screenshots: build
	@HEARTH_SCREENSHOTS=$(CURDIR)/docs/screenshots E2E_FILES='web_*.test.js' bash scripts/e2e.sh
	@ls -l docs/screenshots

format:
	@find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
