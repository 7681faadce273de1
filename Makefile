# awf-broker — build, test, run.
GO        ?= go
BIN       := bin
PKGS      := ./...
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build test test-short lint fmt-check vet staticcheck run bench fuzz clean verify-units

all: build

## build: the daemon and the CLI into ./bin
build:
	$(GO) build -o $(BIN)/awf-brokerd ./cmd/awf-brokerd
	$(GO) build -o $(BIN)/awf-broker-cli ./cmd/awf-broker-cli

## test: go vet, then every test with the race detector (the README's test command)
test: vet
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## test-short: the same without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

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

## bench: the benchmarks, each reported beside its floor
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

## fuzz: each fuzz target for FUZZTIME (the seed corpora also run in make test)
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeURL$$' -fuzztime $(FUZZTIME) ./broker/lease/
	$(GO) test -run '^$$' -fuzz '^FuzzMatchHost$$' -fuzztime $(FUZZTIME) ./broker/lease/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./broker/config/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeHeadersRequest$$' -fuzztime $(FUZZTIME) ./broker/server/

## verify-units: systemd-analyze verify on the systemd units (needs systemd installed)
verify-units: build
	.ci/verify-units $(BIN)/awf-brokerd

clean:
	rm -rf $(BIN) awf-broker.sock
