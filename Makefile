# shardline: every build, test and run entry point. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
# Build and test with go.mod's toolchain line (go1.27.3: the standard-library fixes `make vuln`
# requires), fetched once through the module proxy and verified against the checksum database,
# whatever Go is installed (Debian's and the official images default to GOTOOLCHAIN=local).
export GOTOOLCHAIN := auto
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The one definition of the release build flags: `make build`, `make lambda-zip` and the
# Dockerfile (which runs `make build-shardline`) all use it.
LDFLAGS     := -s -w -X github.com/shardline/shardline/internal/cli.Version=$(VERSION)
BUILD_FLAGS := -trimpath -ldflags "$(LDFLAGS)"
STACK       := infra/local/stack.sh
# Runs a command with the local stack's endpoints and credentials in the environment.
WITH_STACK  := eval "$$($(STACK) env)" &&
PHOTOS      := /usr/share/backgrounds/mate
FUZZTIME    ?= 30s

include infra/terraform/infra.mk

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build build-shardline build-lab
build: build-shardline build-lab ## build bin/shardline and the lab's bin/shardline-lab
build-shardline: ## build the production binary bin/shardline (all the Dockerfile ships)
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/shardline ./cmd/shardline
build-lab: ## build bin/shardline-lab: demo, chaos and bench, which run bin/shardline
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/shardline-lab ./cmd/shardline-lab

.PHONY: lambda-zip
lambda-zip: ## build the forwarder Lambda (provided.al2023, arm64) as dist/forwarder-lambda.zip
	mkdir -p dist/lambda
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(BUILD_FLAGS) -tags lambda.norpc -o dist/lambda/bootstrap ./cmd/forwarder-lambda
	cd dist/lambda && rm -f ../forwarder-lambda.zip && zip -q -X ../forwarder-lambda.zip bootstrap

.PHONY: local-up local-down local-status local-install
local-install: ## install the local stack servers into .local/
	$(STACK) install
local-up: ## start MinIO, kinesalite and dynalite on 127.0.0.1
	$(STACK) up
local-down: ## stop the local stack
	$(STACK) down
local-status: ## show the local stack
	$(STACK) status

.PHONY: photos
photos: ## install Debian's mate-backgrounds photos (demo and benchmarks)
	@test -d $(PHOTOS) || { command -v apt-get >/dev/null && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q mate-backgrounds >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mate-backgrounds >/dev/null)); }
	@test -d $(PHOTOS) || { echo "need $(PHOTOS): apt-get install mate-backgrounds"; exit 1; }

.PHONY: demo
# Recipes that stop the stack collect the run's status with `|| rc=$$?`, not `; rc=$$?`: under
# .SHELLFLAGS' -e a failing run would end the recipe before the stack is stopped.
demo: build photos ## run the end-to-end demo on the local stack (starts and stops it)
	$(STACK) up
	rc=0; $(WITH_STACK) bin/shardline-lab demo || rc=$$?; $(STACK) down; exit $$rc

SEED     ?= 1
DURATION ?= 10m
.PHONY: chaos
chaos: build ## prove the guarantee under faults: make chaos SEED=1 DURATION=10m (starts and stops the local stack)
	$(STACK) up
	mkdir -p .local/log
	rc=0; $(WITH_STACK) bin/shardline-lab chaos -seed $(SEED) -duration $(DURATION) 2>.local/log/chaos-harness.log || rc=$$?; $(STACK) down; exit $$rc

.PHONY: lint
lint: ## gofmt and go vet (the root module and examples/, a module of its own)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd examples && $(GO) vet ./...
	$(MAKE) min-go

# go.mod's go line is the oldest Go the module promises to build with (library users of
# processor may be on it); files that need a newer release have a fallback for it
# (internal/notification/scan_go126.go), built and tested here with that release.
GO_MIN := go$(shell sed -n 's/^go //p' go.mod)
.PHONY: min-go
min-go: ## build the module and test the packages with version-specific files on go.mod's minimum Go
	GOTOOLCHAIN=$(GO_MIN) $(GO) build ./...
	GOTOOLCHAIN=$(GO_MIN) $(GO) test -count=1 ./internal/notification/ ./internal/forwarder/

# govulncheck against an offline database built from golang.org/x/vulndb's OSV files; both are
# pinned in tools/go.mod (bump there with go get); waived standard-library findings, each for one
# Go version, are in .ci/vuln-waivers. Needs only the Go module proxy.
.PHONY: vuln
vuln: ## govulncheck ./... on an offline vulnerability database (tools/go.mod pins it; cached in .local/vuln)
	GO=$(GO) .ci/vuln

# Packages whose integration tests also run on moto_server, a second, independent implementation
# of the DynamoDB, Kinesis and S3 wire protocols: ledger, leases and checkpoints, dead letters, and
# forward -> work -> output. Tests moto cannot serve skip themselves (localstack.SkipOnMoto).
# No -race here (the main run has it): moto closes every connection, and under -race the SDK now
# and then fails to read a committed conditional write's response and retries it, which then
# reports a false ledger conflict (2 of 8 runs); see docs/local-stack.md.
MOTO_PKGS := ./internal/ledger/ ./checkpoint/ ./internal/deadletter/ ./processor/

.PHONY: test test-moto
# examples/ is a module of its own (it may import only shardline's public packages), so ./... at the
# root does not reach it: its tests, integration test included, run in the same stack window.
test: lint vuln ## lint, vuln, then unit, fuzz-seed and integration tests with -race, examples/'s too (starts and stops the local stack), then test-moto and infra-test
	$(STACK) up
	rc=0; $(WITH_STACK) SHARDLINE_INTEGRATION=1 $(GO) test -race -count=1 -timeout 20m ./... || rc=$$?; \
	  ($(WITH_STACK) cd examples && SHARDLINE_INTEGRATION=1 $(GO) test -race -count=1 -timeout 10m ./...) || rc=$$?; \
	  $(STACK) down; exit $$rc
	$(MAKE) test-moto
	$(MAKE) infra-test

test-moto: ## the integration tests of MOTO_PKGS against moto_server (starts and stops it)
	$(STACK) up moto
	rc=0; eval "$$($(STACK) env moto)" && SHARDLINE_INTEGRATION=1 $(GO) test -count=1 -timeout 10m $(MOTO_PKGS) || rc=$$?; $(STACK) down moto; exit $$rc

.PHONY: test-unit
test-unit: ## tests that need no local stack (integration tests skip)
	$(GO) test -race -count=1 ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: bench
bench: photos ## performance table (image path, a shard at its write limit under AWS latency with worker CPU per event, pipeline vs raw ceiling, key concurrency, hot key, latency) and Go micro-benchmarks (-benchmem, incl. the per-record path)
	@command -v djpeg >/dev/null && command -v cjpeg >/dev/null && command -v jpegtran >/dev/null || { command -v apt-get >/dev/null && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjpeg-turbo-progs >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjpeg-turbo-progs >/dev/null)); }
	$(GO) build -o bin/shardline-lab ./cmd/shardline-lab
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@was_up=$$($(STACK) status | grep -c ' running ' || true); $(STACK) up; rc=0; \
	  $(WITH_STACK) bin/shardline-lab bench || rc=$$?; \
	  if [ "$$was_up" != 3 ]; then $(STACK) down; fi; exit $$rc

.PHONY: clean
clean: ## remove build output (not the local stack install)
	rm -rf bin dist
