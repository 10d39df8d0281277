#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a Debian/Ubuntu machine:
# the pinned Rust toolchain (rust-toolchain.toml) and QEMU, OVMF and gdb,
# python3 and pyflakes for the gdb helpers' tests and lint, and Bochs (with
# its BIOS, the VGA BIOS and the SDL2 display it runs headless).
# As root it installs missing packages with apt-get; otherwise it prints the
# exact command and fails. Quiet and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup: $*" >&2; exit 1; }

# --- Rust -------------------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
    fail "rustup not found; install it with:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
then open a new shell (or run: source \"\$HOME/.cargo/env\") and run make again."
fi
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
# rustup does not install rust-toolchain.toml's toolchain on use when
# RUSTUP_AUTO_INSTALL=0, so install it (and its components) explicitly. On a
# bare machine the download runs beside apt-get below (both wait on the
# network, not the CPU): started here, waited for at the end.
rustup_pid=
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 \
    || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^llvm-tools'; then
    echo "setup: installing Rust toolchain $toolchain (rust-toolchain.toml)"
    rustup toolchain install --no-self-update &
    rustup_pid=$!
fi

# --- QEMU, OVMF, gdb, python3, pyflakes, Bochs --------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] \
    || [ -e /usr/share/ovmf/OVMF.fd ] || missing+=(ovmf)
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v pyflakes3 >/dev/null 2>&1 || missing+=(pyflakes3)
# tmux: the test that drives gdb's TUI window; nasm: the original program.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
# Bochs: `make bochs`, `make bochs-debug` and the agreement tests
# (boot/src/emulator/bochs/ looks for these files).
command -v bochs >/dev/null 2>&1 || missing+=(bochs)
[ -e /usr/share/bochs/BIOS-bochs-latest ] || missing+=(bochsbios)
[ -e /usr/share/vgabios/vgabios.bin ] || missing+=(vgabios)
[ -e /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_sdl2_gui.so ] || missing+=(bochs-sdl)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        # Only what is named: QEMU's recommends (its GTK display, block
        # plugins) are not used headless and double the download.
        install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
        # The package lists are refreshed only if installing from them fails
        # (a fresh machine has none, or they name files the mirror dropped).
        install 2>/dev/null || { apt-get update -qq && install; }
    else
        fail "missing ${missing[*]}; install with:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
fi

if [ -n "$rustup_pid" ]; then
    wait "$rustup_pid" || fail "rustup could not install $toolchain"
fi
