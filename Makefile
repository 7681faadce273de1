# awf-broker — build, test, run.
GO        ?= go
BIN       := bin
PKGS      := ./...
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build agents test test-short docs-check lint fmt-check vet staticcheck run bench bench-go fuzz soak clean verify-units

all: build

## build: the daemon and the CLI into ./bin
build:
	$(GO) build -o $(BIN)/awf-brokerd ./cmd/awf-brokerd
	$(GO) build -o $(BIN)/awf-broker-cli ./cmd/awf-broker-cli

## agents: install the real agents pinned in testdata/agents (npm ci when the
## install is missing or stale); without node it says the agent tests will skip
agents:
	$(GO) run ./internal/cmd/awf-agents -dir testdata/agents

## test: go vet, the agents, then every test with the race detector (the README's test command)
test: vet agents
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## test-short: the same without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

## docs-check: README.md and docs/ against the code: links and anchors, HCL
## snippets (awf-brokerd --check-config), commands and flags (also in make test)
docs-check:
	$(GO) test -count=1 ./internal/docscheck/

## lint: gofmt, go vet and staticcheck (installed on first use)
lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)

## run: the daemon in --dev mode with its embedded fakes, socket ./awf-broker.sock
run:
	$(GO) run ./cmd/awf-brokerd --dev

## bench: one run of internal/benchsuite: a table of every figure beside its
## floor and the DESIGN §9 goal; BENCH_OUT=file also writes it as JSON;
## BENCH_BASELINE=path/to/an-older/awf-broker-cli adds before/after rows
BENCH_OUT ?=
BENCH_BASELINE ?=
bench: build
	$(GO) run ./internal/cmd/awf-bench -bin $(BIN) $(if $(BENCH_OUT),-out $(BENCH_OUT)) $(if $(BENCH_BASELINE),-baseline-cli $(BENCH_BASELINE))

## bench-go: the go test micro-benchmarks, each reported beside its floor
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

## fuzz: each fuzz target for FUZZTIME (their seed corpora, in testdata/fuzz/,
## also run in make test)
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./broker/lease/:FuzzNormalizeURL ./broker/lease/:FuzzMatchHost ./broker/lease/:FuzzScope ./broker/lease/:FuzzCovers \
	./broker/lease/:FuzzScopePaths \
	./broker/config/:FuzzParse \
	./broker/server/:FuzzDecodeHeadersRequest ./broker/server/:FuzzDecodeCreateLease \
	./broker/server/:FuzzDecodeIdentityRegistration ./broker/server/:FuzzAppendJSONString
fuzz:
	./.ci/fuzz $(FUZZTIME) $(FUZZ_TARGETS)

## soak: the load test (64 forwarders' worth of callers, 2 s token rotation,
## 20 % failing exchanges) for AWF_SOAK_DURATION (default 60s)
AWF_SOAK_DURATION ?= 60s
soak:
	AWF_SOAK_DURATION=$(AWF_SOAK_DURATION) $(GO) test -count=1 -timeout 10m -run '^TestSoak$$' -v ./broker/daemon/

## verify-units: systemd-analyze verify on the systemd units (needs systemd installed)
verify-units: build
	.ci/verify-units $(BIN)/awf-brokerd

clean:
	rm -rf $(BIN) awf-broker.sock
