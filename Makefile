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

CMDS := node producer-client consumer-client swarmbench
# The NATS peer of the benchmark lives in its own module, so the node never
# links NATS.
NATSPEER := perf/natspeer

# Fuzz targets as package:Target.
FUZZ_TARGETS := \
	./frame:FuzzDecode \
	./frame:FuzzDecodePublish \
	./queue:FuzzDecodeRecord \
	./queue:FuzzRestore \
	./wal:FuzzDecodeRaftState \
	./cluster/replica:FuzzDecodeSnapshot \
	./seal:FuzzParseKeyring \
	./seal:FuzzOpen

.PHONY: all build run test unit fuzz-smoke fuzz bench lint fmt vet clean certs natsbench bench-compare soak-memory

all: fmt vet lint build test

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

run: build
	./$(BIN)/node

test: vet lint unit fuzz-smoke

unit:
	$(GO) test -race -count=1 -timeout 20m ./...
	cd $(NATSPEER) && $(GO) test -race -count=1 -timeout 10m ./...

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

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(TOOLS)/golangci-lint
	$(TOOLS)/golangci-lint run ./...
	cd $(NATSPEER) && $(TOOLS)/golangci-lint run ./...

vet:
	$(GO) vet ./...
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

fmt:
	gofmt -w $$(git ls-files '*.go')

# Development certificates for TLS and mutual TLS (docs/tls.md).
certs:
	$(GO) run ./cmd/swarm-certs certs

clean:
	rm -rf $(BIN) data certs

# The memory soak of docs/perf.md: bin/node under hostile clients (20
# publishers past their credits, 20 fetchers that never read, then both),
# SOAK_DURATION per pattern; prints RSS peak, the well-behaved pair's
# throughput ratio and /health p99 (lines starting RESULT).
SOAK_DURATION ?= 60s
SOAK_BASE     ?= 15s
soak-memory: build
	SWARMMQ_SOAK_NODE=$(CURDIR)/$(BIN)/node SWARMMQ_SOAK_DURATION=$(SOAK_DURATION) SWARMMQ_SOAK_BASE=$(SOAK_BASE) \
		$(GO) test -run '^TestSoakMemory$$' -count=1 -v -timeout 30m ./test/soak/
