# Flare's everyday commands. `make demo` runs Flare; `make test` runs every test.

GO ?= go
BIN := bin/flare

.PHONY: build demo test test-short bench soak vet fuzz vulncheck clean

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

clean:
	rm -rf bin
