# f2b-sidecar: the two commands of the quick start, plus the usual helpers.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
BIN := target/release

.PHONY: all build demo test deps bench lint fmt clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --workspace --bins

# The main job on shipped data: replay a simulated brute force against a Proxmox host
# (corpora/demo) through the built-in filters. Then, where this machine can run it (root,
# unshare), the live flow in private namespaces: journal -> f2b-logger -> fail2ban -> nftables.
demo: build
	@scripts/demo.sh
	@scripts/demo-e2e.sh || { rc=$$?; [ $$rc -eq 3 ] && echo "(live demo skipped: see the reason above)" || exit $$rc; }

# Every test: unit, integration, differential against the real fail2ban, corpora, end to end.
test: deps
	@scripts/test-extra.sh
	$(CARGO) build --release --workspace --bins
	$(CARGO) test --release --workspace --no-fail-fast

bench: build
	@scripts/bench.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
