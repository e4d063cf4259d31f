# SwarmMQ build. `make run` starts a node on embedded defaults; `make test`
# is exactly what CI runs. Tools are pinned and installed into .tools/.
GO        ?= go
BIN       := bin
TOOLS     := $(CURDIR)/.tools
FUZZTIME  ?= 30s
# The smoke run counts executions rather than seconds: a duration-based
# -fuzztime can fail spuriously with "context deadline exceeded" on Go 1.26
# (golang/go#75804, fixed in 1.27).
SMOKETIME ?= 100000x
BENCHTIME ?= 1s
GOLANGCI_VERSION  := v2.15.0

# golangci-lint is built from source (about 4 minutes on 2 cores, through the
# module proxy) the first time only: its file name carries the version, so a
# second run finds it, and a new GOLANGCI_VERSION builds the new one.
GOLANGCI := $(TOOLS)/golangci-lint-$(GOLANGCI_VERSION)

# --version of every command: `git describe` and the commit, stamped at link
# time. A plain `go build` falls back to what the toolchain records.
VERSION_PKG := github.com/swarmmq/swarmmq/cmd/internal/version
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     := -X $(VERSION_PKG).stamped=$(VERSION) -X $(VERSION_PKG).stampedCommit=$(COMMIT)

CMDS := node producer-client consumer-client swarmbench swarmctl
# The NATS peer of the benchmark lives in its own module, so the node never
# links NATS.
NATSPEER := perf/natspeer
# The client library is its own module (an application that imports it
# builds no Pebble, gnet or raft): docs/architecture.md "Modules".
CLIENTMOD := client

# Fuzz targets as package:Target.
FUZZ_TARGETS := \
	./frame:FuzzDecode \
	./frame:FuzzDecodePublish \
	./frame:FuzzDecodePeer \
	./frame:FuzzDecodeMetadataOK \
	./frame:FuzzDecodeSettle \
	./frame:FuzzDecodeHelloOK \
	./frame:FuzzHeaderBlock \
	./cluster/peer:FuzzHandshake \
	./cluster/forward:FuzzDecodeEnvelope \
	./queue:FuzzDecodeRecord \
	./queue:FuzzRestore \
	./stages:FuzzAdminBodies \
	./wal:FuzzDecodeRaftState \
	./cluster/replica:FuzzDecodeSnapshot \
	./cluster/rlog:FuzzDecodeMessage \
	./seal:FuzzParseKeyring \
	./conf:FuzzParse \
	./seal:FuzzOpen \
	./test/cluster:FuzzParseHealth \
	./test/conformance:FuzzDecodeFrame

.PHONY: all build run test unit conformance fuzz-smoke fuzz bench lint fmt vet clean clean-data certs natsbench bench-compare soak-memory

all: fmt vet lint build test

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

run: build
	./$(BIN)/node

test: vet lint unit fuzz-smoke

unit:
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run TestScenariosCanFail ./test/conformance -mutate
	cd $(CLIENTMOD) && $(GO) test -race -count=1 -timeout 10m ./...
	cd $(NATSPEER) && $(GO) test -race -count=1 -timeout 10m ./...

# The conformance scenarios (test/conformance/scenarios, docs/conformance.md)
# against a node process, one line per scenario; then each scenario once
# more with one expectation changed, which must fail (make unit runs both).
conformance:
	$(GO) test -race -count=1 -v -run 'TestHex|TestCoverage|TestConformance' ./test/conformance
	$(GO) test -count=1 -run TestScenariosCanFail ./test/conformance -mutate

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz smoke $$pkg $$name ($(SMOKETIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(SMOKETIME) $$pkg || exit 1; \
	done

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
	cd $(CLIENTMOD) && $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

$(GOLANGCI):
	@mkdir -p $(TOOLS)/install
	GOBIN=$(TOOLS)/install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLS)/install/golangci-lint $@

lint: $(GOLANGCI)
	$(GOLANGCI) run --allow-serial-runners ./...
	cd $(CLIENTMOD) && $(GOLANGCI) run --allow-serial-runners ./...
	cd $(NATSPEER) && $(GOLANGCI) run --allow-serial-runners ./...

vet:
	$(GO) vet ./...
	cd $(CLIENTMOD) && $(GO) vet ./...
	cd $(NATSPEER) && $(GO) vet ./...

# bin/natsbench drives an embedded NATS JetStream with swarmbench's flags.
natsbench:
	@mkdir -p $(BIN)
	cd $(NATSPEER) && $(GO) build -o ../../$(BIN)/ ./cmd/natsbench

# SwarmMQ vs NATS JetStream at matched durability, 128-byte messages, about
# 4 minutes on 2 cores; writes docs/perf/. ROUNDS, DURATION, STEPS,
# CURVE_ROUNDS, CONSUME_MSGS override the defaults (see perf/compare.sh).
bench-compare:
	GO=$(GO) perf/compare.sh

# Two builds of SwarmMQ side by side: BASE (a git revision) and the working
# tree, alternating, about 5 minutes on 2 cores; writes perf/results/tmp/ab/
# and flags a workload whose rate fell by more than 5% (perf/report/ab.go).
.PHONY: bench-ab
bench-ab:
	BASE=$(BASE) GO=$(GO) perf/ab.sh

# Three nodes (configs/cluster-3.yaml, replication factor 3) beside one
# node, same client, about a minute on 2 cores; writes docs/perf/cluster/.
# ROUNDS, DURATION, WORKLOADS override the defaults (see perf/cluster.sh).
.PHONY: bench-cluster
bench-cluster:
	GO=$(GO) perf/cluster.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

# Development certificates for TLS and mutual TLS (docs/tls.md), in ./certs.
# Existing files are kept (the command fails); FORCE=1 overwrites them.
certs:
	$(GO) run ./cmd/swarm-certs $(if $(filter 1,$(FORCE)),--force) certs

# Build outputs only.
clean:
	rm -rf $(BIN)

# Deletes ./data, the message log of a node run on the defaults (make run):
# every message and consumer group in it is lost. Stop the node first.
clean-data:
	@echo "deleting ./data: the message log of the default node"
	rm -rf data

# The memory soak of docs/perf.md: bin/node under hostile clients (20
# publishers past their credits, 20 fetchers that never read, then both),
# SOAK_DURATION per pattern; prints RSS peak, the well-behaved pair's
# throughput ratio and /health p99 (lines starting RESULT).
SOAK_DURATION ?= 60s
SOAK_BASE     ?= 15s
soak-memory: build
	SWARMMQ_SOAK_NODE=$(CURDIR)/$(BIN)/node SWARMMQ_SOAK_DURATION=$(SOAK_DURATION) SWARMMQ_SOAK_BASE=$(SOAK_BASE) \
		$(GO) test -run '^TestSoakMemory$$' -count=1 -v -timeout 30m ./test/soak/

# The long fault run of docs/testing.md: five bin/node processes under leader
# and follower kills (kill -9), pauses (SIGSTOP/SIGCONT), leader isolation,
# link cuts and restarts at random for CHAOS_DURATION while producers and
# consumer groups run; prints the checker's table. CHAOS_SEED replays a run's
# choices, CHAOS_RATE sets each producer's messages a second, CHAOS_KINDS,
# CHAOS_HOLD and CHAOS_HOLD_JITTER narrow the mix and set the holds. Fails on
# any loss, redelivery after a confirmed ack or payload stored twice, on fewer
# than 5 faults a minute, and on a publish outage longer than CHAOS_MAX_OUTAGE
# after a leader kill, pause or isolation ("off": report only).
.PHONY: chaos
CHAOS_DURATION ?= 10m
CHAOS_MAX_OUTAGE ?= 1.5s
chaos: build
	SWARMMQ_NODE_BIN=$(CURDIR)/$(BIN)/node CHAOS_DURATION=$(CHAOS_DURATION) CHAOS_SEED=$(CHAOS_SEED) CHAOS_RATE=$(CHAOS_RATE) \
		CHAOS_MAX_OUTAGE=$(CHAOS_MAX_OUTAGE) CHAOS_KINDS=$(CHAOS_KINDS) CHAOS_HOLD=$(CHAOS_HOLD) CHAOS_HOLD_JITTER=$(CHAOS_HOLD_JITTER) \
		$(GO) test -race -run '^TestSlowChaos$$' -count=1 -v -timeout 0 ./test/cluster/

# The five nodes of configs/cluster-5.yaml in the background on this machine
# (data in ./data/node-N, logs in ./data/node-N.log; docs/cluster.md).
# Running it again starts the nodes that are down; cluster-stop stops them
# all (SIGTERM, SIGKILL after 20 s).
.PHONY: cluster cluster-stop
cluster: build
	$(GO) build -o $(BIN)/ ./test/cluster/cmd/clusterinfo
	BIN=$(BIN) test/cluster/local-cluster.sh start

cluster-stop:
	@test -x $(BIN)/clusterinfo || $(GO) build -o $(BIN)/ ./test/cluster/cmd/clusterinfo
	BIN=$(BIN) test/cluster/local-cluster.sh stop
