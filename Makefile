# mailport — build, lint, test.
#   make build   the binary in ./bin/mailport
#   make test    lint + every test, with the real servers (Dovecot, Postfix,
#                gnome-keyring, Chromium; installed from Debian when root)
#   make lint    gofmt, go vet, staticcheck, go mod tidy check
#   make bench   mailport fetch against mbsync, fetchmail and getmail6 on a
#                real Dovecot (root; N=200 RUNS=1 for a quick run)
#   make fuzz    every fuzz target of the repository, FUZZTIME each (10s;
#                FUZZTIME=2m for longer); `make test` runs their seeds only

GO          ?= go
BIN         := $(CURDIR)/bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GORELEASER  := github.com/goreleaser/goreleaser/v2@v2.15.1
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE        ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS     := -s -w -X github.com/mailport/mailport/cmd/cmdutil.Version=$(VERSION) \
               -X github.com/mailport/mailport/cmd/cmdutil.Commit=$(COMMIT) \
               -X github.com/mailport/mailport/cmd/cmdutil.Date=$(DATE)

.PHONY: build test unit lint deps bench docs clean fuzz

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/mailport .

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)

lint: $(BIN)/staticcheck
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(GO) mod tidy -diff

deps:
	scripts/install-deps.sh

# Unit and in-process tests only: no servers needed.
unit:
	$(GO) test -count=1 ./...

# Everything: lint, then all tests with the real servers required (a
# missing server fails instead of skipping), inside a D-Bus session with
# an unlocked gnome-keyring for the Secret Service tests.
test: deps lint
	MAILPORT_REQUIRE_REALSERVERS=1 scripts/with-keyring.sh $(GO) test -count=1 -timeout 12m -p 2 ./...

# Every fuzz target (found afresh: any package's func FuzzXxx), each for
# FUZZTIME, one after the other; failing inputs land in the package's
# testdata/fuzz/ for `go test` to replay. Not part of `make test`.
FUZZTIME ?= 10s

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# Fetch throughput, CPU and peak RSS of mailport against mbsync, fetchmail
# and getmail6 on the test bed's Dovecot (not part of `make test`). Installs
# the peers when root, builds mailport, then runs the harness in bench/.
# BENCH_FLAGS passes more flags, e.g. BENCH_FLAGS=-tls or BENCH_FLAGS=-v.
N          ?= 2000
RUNS       ?= 3
BENCH_FLAGS ?=

bench: build
	MAILPORT_BENCH=1 scripts/install-deps.sh
	@# Not -trimpath: the test bed finds its templates from its source path.
	$(GO) build -o $(BIN)/mailport-bench ./bench
	$(BIN)/mailport-bench -mailport $(BIN)/mailport -n $(N) -runs $(RUNS) $(BENCH_FLAGS)

# Man pages from the Cobra commands; internal/gendocs's test fails when
# docs/man is stale.
docs:
	$(GO) run ./internal/gendocs -dir docs/man

$(BIN)/goreleaser:
	GOBIN=$(BIN) $(GO) install $(GORELEASER)

# Validate .goreleaser.yaml, build every archive of a snapshot release
# (nothing is published), check the checksums and what the Linux archive
# holds, and show that the version was stamped in.
release-check: $(BIN)/goreleaser
	$(BIN)/goreleaser check
	@# goreleaser reads the commit only when `git ls-remote --get-url` works;
	@# a checkout without a remote gets itself as one, for this command only.
	if [ -z "$$(git remote)" ]; then export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0="$(CURDIR)"; fi; \
	$(BIN)/goreleaser release --snapshot --clean
	cd dist && sha256sum -c checksums.txt
	@archive=$$(ls dist/mailport_*_linux_amd64.tar.gz); \
	for f in mailport README.md LICENSE completions/mailport.bash completions/mailport.zsh completions/mailport.fish docs/man/mailport.1 docs/man/mailport-fetch.1; do \
		tar -tzf "$$archive" | grep -qx "$$f" || { echo "release-check: $$archive lacks $$f"; exit 1; }; \
	done; echo "$$archive holds the binary, README, LICENSE, completions and man pages"
	@bin=$$(find dist -path '*linux_amd64*' -type f -name mailport | head -n 1); \
	test -n "$$bin" || { echo "release-check: no linux/amd64 mailport binary under dist/"; exit 1; }; \
	echo "$$bin version: $$($$bin version)"
