# Bare-metal coroutines: the two commands a newcomer needs are `make run` and
# `make test`; both install what is missing first (scripts/setup.sh).
.DEFAULT_GOAL := help
.PHONY: help setup run run-uefi bochs bochs-debug test gdb gdb-server record replay gdb-replay picture original docs book bench steady soak fuzz fmt clippy clean

help: ## Show this help
	@echo "Bare-metal coroutines: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

setup: ## Install the pinned Rust toolchain, QEMU, OVMF, gdb and Bochs if missing
	@scripts/setup.sh

run: setup ## Build the kernel and boot it in QEMU (BIOS); serial output here
	cargo run

run-uefi: setup ## The same, booted through UEFI (OVMF)
	cargo run -- --uefi

bochs: setup ## The same BIOS image in Bochs instead of QEMU, headless; serial output here
	cargo run -- --bochs

bochs-debug: setup ## Boot in Bochs's own debugger, stopped at switch_to_coro1
	cargo run -- --bochs-debug $(DEBUGGER_ENDED)

test: setup ## Host tests of the switch and the boot tool, QEMU and Bochs boots, gdb session
	cargo test

# A debugging session the user ends early (gdb's quit or kill, Bochs's quit)
# is the boot tool's exit status 6 (boot/src/exit_statuses.md): the tool says
# so in its last line, and make does not add an error of its own.
DEBUGGER_ENDED = || [ $$? -eq 6 ]

gdb: setup ## Boot paused and open gdb on the kernel, stopped before the first switch (layout coro: the stacks live)
	cargo run -- --gdb $(DEBUGGER_ENDED)

gdb-server: setup ## Boot paused with a gdbstub on 127.0.0.1 and print how to attach
	cargo run -- --gdb-server $(DEBUGGER_ENDED)

# Where `make record` leaves its recording, and the other two find it.
RECORDING ?= target/recording

record: setup ## Boot under record/replay into target/recording (RECORDING=DIR, ARGS=--uefi)
	cargo run -- --record $(RECORDING) $(ARGS)

replay: setup ## Replay the recording exactly: the same serial output and exit status
	cargo run -- --replay $(RECORDING)

gdb-replay: setup ## gdb on the replay: reverse-stepi, reverse-continue, coro goto N, layout coro
	cargo run -- --replay $(RECORDING) --gdb $(DEBUGGER_ENDED)

picture: setup ## Boot the kernel and redraw docs/run.svg and docs/run.json from its events
	cargo run -- --svg docs/run.svg --trace docs/run.json

# The original NASM program, assembled and linked for Linux.
ORIGINAL := target/original/coroutines

$(ORIGINAL): original/coroutines.asm
	@mkdir -p $(dir $@)
	nasm -f elf64 -g -F dwarf -o $@.o $<
	ld -o $@ $@.o

original: setup $(ORIGINAL) ## Run the original NASM program, then single-step it in gdb (RSP, slots)
	$(ORIGINAL); echo "$(ORIGINAL) exited with status $$?"
	gdb -q -nx -batch -x original/trace.py $(ORIGINAL)

docs: setup ## Rerun every listing quoted in README.md and docs/ (docs/listings.toml) and rewrite them
	cargo build -q -p boot
	cargo kbuild -q --bins
	python3 scripts/docs.py generate

# mdBook, pinned: installed by cargo the first time `make book` runs.
MDBOOK_VERSION := 0.5.4

book: ## Build the chapters of docs/ as a book (mdBook) into book/ and say where it is
	@mdbook --version 2>/dev/null | grep -qx 'mdbook v$(MDBOOK_VERSION)' || \
		cargo install mdbook --version $(MDBOOK_VERSION) --locked
	mdbook build
	@echo "book: built; open file://$(CURDIR)/book/index.html in a browser"

bench: setup ## Our switch vs corosensei vs context; ends with the paired headline
	python3 scripts/bench.py

steady: setup ## 20 consecutive paired lab runs of the safe API vs corosensei, one line each
	python3 scripts/bench.py --steady

soak: setup ## Boot the kernel N times (N=100) and compare the transcripts
	python3 scripts/soak.py

# How many cases each property test tries under `make fuzz`; `make test`
# tries proptest's default, 256.
CASES ?= 20000

fuzz: setup ## The property tests of the parsers at length (CASES=20000 each)
	PROPTEST_CASES=$(CASES) cargo test -p picture -p boot --lib properties

fmt: ## Format every crate
	cargo fmt --all

clippy: setup ## Lint the host crates and the kernel, warnings are errors
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p switch-bench --all-targets -- -D warnings
	cargo kclippy --bins -- -D warnings

clean: ## Remove build output
	cargo clean
