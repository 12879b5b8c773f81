# ninja: one binary, a self-hosted IPFS pinning service.
GO      ?= go
# Build with the toolchain go.mod names (go1.26.10, with the standard
# library's security fixes; fetched from the module proxy on first use),
# whatever GOTOOLCHAIN the machine sets.
export GOTOOLCHAIN := auto
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ninja-ipfs/ninja/cli.version=$(VERSION)

.PHONY: build run test e2e bench fuzz vet kubo cluster pebble vuln release

build:
	$(GO) build -buildvcs=auto -ldflags "$(LDFLAGS)" -o bin/ninja .

run:
	$(GO) run -ldflags "$(LDFLAGS)" . serve

# Static, -trimpath binaries for the release platforms into dist/, with
# their SHA-256 checksums in dist/SHA256SUMS (check: sha256sum -c SHA256SUMS).
RELEASE_PLATFORMS := linux/amd64 linux/arm64 darwin/arm64
release:
	rm -rf dist && mkdir -p dist
	set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "build $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto \
			-ldflags "-s -w $(LDFLAGS)" -o dist/ninja-$(VERSION)-$$os-$$arch . ; \
	done
	cd dist && { sha256sum ninja-* 2>/dev/null || shasum -a 256 ninja-*; } > SHA256SUMS
	cat dist/SHA256SUMS

# Everything that needs nothing but Go.
test:
	$(GO) vet ./...
	$(GO) test -race ./...

# End-to-end tests against a real Kubo and a real Chromium (see DEVELOPERS.md).
# KUBO_BIN defaults to the build `make kubo` makes.
KUBO_BIN ?= $(CURDIR)/.cache/kubo/ipfs
PEBBLE_BIN ?= $(CURDIR)/.cache/pebble/pebble
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
e2e:
	KUBO_BIN=$(KUBO_BIN) PEBBLE_BIN=$(PEBBLE_BIN) CLUSTER_DIR=$(CLUSTER_DIR) $(GO) test -race -count=1 -timeout 30m -tags e2e ./e2e/...

# Kubo v0.43.0 from the Go module proxy, for e2e tests and benchmarks.
kubo: $(KUBO_BIN)
$(KUBO_BIN):
	mkdir -p $(dir $(KUBO_BIN))
	cd $(dir $(KUBO_BIN)) && { test -f go.mod || $(GO) mod init kb; } && \
		$(GO) get github.com/ipfs/kubo/cmd/ipfs@v0.43.0 && \
		$(GO) build -o ipfs github.com/ipfs/kubo/cmd/ipfs

# IPFS Cluster v1.1.6 (ipfs-cluster-service and ipfs-cluster-ctl) from the
# Go module proxy, for the Cluster end-to-end tests (e2e/cluster_rig_test.go).
# One recipe makes both; the service is built last, so its file stands for the pair.
# The module is asked for by its own path: `go get PKG@v1.1.6` for a package
# under cmd/ also asks the proxy for a module github.com/ipfs-cluster/ipfs-cluster/cmd,
# which the proxy here refuses (403), and go get stops on that.
cluster: $(CLUSTER_DIR)/ipfs-cluster-service
$(CLUSTER_DIR)/ipfs-cluster-service:
	mkdir -p $(CLUSTER_DIR)
	cd $(CLUSTER_DIR) && { test -f go.mod || $(GO) mod init cl; } && \
		$(GO) get github.com/ipfs-cluster/ipfs-cluster@v1.1.6 && \
		$(GO) build -mod=mod -o ipfs-cluster-ctl github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl && \
		$(GO) build -mod=mod -o ipfs-cluster-service github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service

# Pebble v2.8.0, Let's Encrypt's ACME test server, from the Go module
# proxy, for the ACME end-to-end test (e2e/acme_test.go).
pebble: $(PEBBLE_BIN)
$(PEBBLE_BIN):
	mkdir -p $(dir $(PEBBLE_BIN))
	cd $(dir $(PEBBLE_BIN)) && { test -f go.mod || $(GO) mod init pb; } && \
		$(GO) get github.com/letsencrypt/pebble/v2/cmd/pebble@v2.8.0 && \
		$(GO) build -o pebble github.com/letsencrypt/pebble/v2/cmd/pebble

# Throughput and memory benchmarks (design.md §7). Set KUBO_BIN to compare
# with Kubo in the same run. -v because the ninja/Kubo ratios, the target
# verdicts and the "Kubo skipped" notice are logged by parent benchmarks,
# whose logs go test prints only with -v.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m -v ./bench/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m -v ./store/
	$(GO) test -run '^$$' -bench . -benchmem ./token/
	$(GO) test -run '^$$' -bench Authenticate -benchmem ./pinning/
	$(GO) test -run '^$$' -bench UploadDuringGC -benchtime 1x -timeout 30m ./node/

# Every fuzz target for FUZZTIME each (their seed corpora also run in make
# test as ordinary tests).
FUZZTIME ?= 30s
fuzz:
	@set -e; for t in "token FuzzParseOpaque" "token FuzzFromHeaders" "token FuzzVerifyUploadJWT" \
		"token FuzzSniffAndCheckMime" "token FuzzParseExpiresIn" "pinning FuzzCleanPath" \
		"server FuzzDecodeContent" "server FuzzParseMetadata" "server FuzzParseTusMetadata" "server FuzzParseChecksum" "node FuzzAddDirectory" \
		"node FuzzGatewayPath" "node FuzzAddCAR"; do \
		set -- $$t; echo "fuzz $$2 ($$1)"; \
		$(GO) test -run '^$$' -fuzz "^$$2$$" -fuzztime $(FUZZTIME) ./$$1/; \
	done

# govulncheck (pinned) over every package; see tools/vuln.sh and SECURITY.md.
vuln:
	./tools/vuln.sh
