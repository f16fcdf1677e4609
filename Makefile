# Flare's everyday commands. `make demo` runs Flare; `make test` runs every test.

GO ?= go
BIN := bin/flare

.PHONY: build demo test test-short bench soak vet fuzz vulncheck clean example-config deb

build:
	$(GO) build -o $(BIN) ./cmd/flare

demo: build
	./$(BIN) demo

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

test-short:
	$(GO) test -short -count=1 ./...

bench: build
	$(GO) run ./ops/cmd/flarebench

# A gateway under valid tips and hostile requests for 90 s (SOAKFLAGS=-duration 20s
# for less): peak RSS, goroutines before and after, valid tips accepted and refused.
soak:
	$(GO) build -tags soak -o bin/flare-soak ./cmd/flare
	$(GO) run ./ops/cmd/flaresoak -flare bin/flare-soak $(SOAKFLAGS)

# A short run of every fuzz target; interesting inputs land in testdata/fuzz.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# govulncheck against the Go vulnerability database; fails, saying so,
# when the database cannot be reached. VULNDB=file:///path uses a local copy.
vulncheck:
	@GO="$(GO)" VULNDB="$(VULNDB)" PKGS="$(PKGS)" ./ops/vulncheck/vulncheck.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)

# ops/flare.example.toml is generated from the settings table; run this after
# adding or changing a setting (a test fails until you do).
example-config:
	$(GO) run ./cmd/flare config example > ops/flare.example.toml.new
	mv ops/flare.example.toml.new ops/flare.example.toml

# The Debian package: bin/flare_VERSION_ARCH.deb (DEB_DIR=... to put it
# elsewhere). nfpm is pinned in go.mod as a tool.
DEB_DIR ?= bin
DEB_ARCH ?= $(shell $(GO) env GOARCH)
FLARE_VERSION ?= 0.0.0~git$(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
deb:
	mkdir -p $(DEB_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_ARCH) $(GO) build -trimpath -o $(DEB_DIR)/flare-linux-$(DEB_ARCH) ./cmd/flare
	FLARE_BINARY=$(abspath $(DEB_DIR))/flare-linux-$(DEB_ARCH) FLARE_VERSION=$(FLARE_VERSION) DEB_ARCH=$(DEB_ARCH) \
	  $(GO) tool nfpm package --config ops/deb/nfpm.yaml --packager deb --target $(DEB_DIR)/

clean:
	rm -rf bin
