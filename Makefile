# arbiter — `make demo` and `make test` are all a fresh clone needs; each installs what it uses.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CARGO_MANIFEST := rust_core/Cargo.toml
INSTALLED := $(VENV)/.installed
BUILT := $(VENV)/.built
RUST_SOURCES := $(shell find rust_core/src -name '*.rs') $(CARGO_MANIFEST)

.PHONY: install prereqs test-prereqs test test-rust test-python lint format bench demo clean

install: $(BUILT)

prereqs:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "missing prerequisite: Python >= 3.11 as '$(PYTHON)' (set PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "missing prerequisite: Python's venv module (Debian: apt-get install python3-venv)"; exit 1; }
	@command -v cargo >/dev/null || { \
	  echo "missing prerequisite: cargo, the Rust toolchain (https://rustup.rs)"; exit 1; }

# maturin develop installs the package (editable) with its dependencies and builds the
# extension into daemon/arbiter/; later Rust changes only rebuild the extension in place.
$(INSTALLED): pyproject.toml | prereqs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "maturin>=1.9.4,<2"
	$(BIN)/maturin develop --release --extras dev,train --quiet
	touch $@

$(BUILT): $(INSTALLED) $(RUST_SOURCES)
	$(BIN)/maturin develop --release --skip-install --quiet
	touch $@

test-prereqs:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { \
	  echo "missing prerequisite: mosquitto, the MQTT broker the tests start (Debian: apt-get install mosquitto)"; exit 1; }

test: test-prereqs $(BUILT) test-rust test-python

test-rust:
	cargo test --release --manifest-path $(CARGO_MANIFEST)

test-python: $(BUILT)
	$(BIN)/pytest

lint: $(BUILT)
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest arbiter._core
	cargo fmt --manifest-path $(CARGO_MANIFEST) --check
	cargo clippy --manifest-path $(CARGO_MANIFEST) --all-targets --features python -- -D warnings

format: $(BUILT)
	$(BIN)/ruff check --fix daemon tests bench
	$(BIN)/ruff format daemon tests bench
	cargo fmt --manifest-path $(CARGO_MANIFEST)

bench: $(BUILT)
	$(BIN)/python bench/book_replay.py
	$(BIN)/python bench/feed_throughput.py
	$(BIN)/python bench/scanner_latency.py
	$(BIN)/python bench/governor_overhead.py
	$(BIN)/python bench/signal_latency.py
	cargo bench --manifest-path $(CARGO_MANIFEST) --bench replay

demo: $(BUILT)
	$(BIN)/arbiter sim demo -c config/demo.toml

clean:
	rm -rf $(VENV) rust_core/target daemon/arbiter/*.so
