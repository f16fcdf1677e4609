# Flare's everyday commands. `make demo` runs Flare; `make test` runs every test.

GO ?= go
BIN := bin/flare

.PHONY: build demo test test-short bench vet fuzz clean example-config deb

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

# A short run of every fuzz target; interesting inputs land in testdata/fuzz.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)

# ops/flare.example.toml is generated from the settings table; run this after
# adding or changing a setting (a test fails until you do).
example-config:
	$(GO) run ./cmd/flare config example > ops/flare.example.toml.new
	mv ops/flare.example.toml.new ops/flare.example.toml

clean:
	rm -rf bin
