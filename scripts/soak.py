#!/usr/bin/env python3
"""Soak test: boot the coroutine kernel N times and count identical transcripts.

Why: the kernel must behave the same on every boot. Addresses (stack
locations, RSPs) may legitimately move between builds and the
cycles-per-switch figure is a measurement that varies from run to run, so
both are normalised before the transcripts are compared; anything else that
differs is a real non-determinism (or an occasional crash) worth a look.

Usage: scripts/soak.py [N]   or   N=100 scripts/soak.py   (default 100)
       SOAK_TIMEOUT=60 sets boot's --timeout per run (seconds).
Exit status: 0 if every run exited 0 and all transcripts are identical,
1 otherwise (the first differing transcript is shown as a diff).
Not part of `make test`: 100 boots take several minutes.
"""

import collections
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOT = ROOT / "target" / "debug" / "boot"
KERNEL = ROOT / "target" / "x86_64-target" / "debug" / "kernel"

ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
CYCLES = re.compile(r"cycles per switch: \d+")


def normalise(transcript: str) -> str:
    """Replaces every address with 0xADDR and the cycle count with N."""
    transcript = ADDRESS.sub("0xADDR", transcript)
    return CYCLES.sub("cycles per switch: N", transcript)


def build() -> None:
    """Builds the host tool and the kernel once, before the first boot."""
    for args in (["cargo", "build", "--quiet", "-p", "boot"],
                 ["cargo", "kbuild", "--quiet", "--bin", "kernel"]):
        subprocess.run(args, cwd=ROOT, check=True)


def boot_once(kernel: Path, timeout: int) -> str:
    """One boot: the serial transcript plus the exit code of `boot`."""
    result = subprocess.run(
        [str(BOOT), str(kernel), "--timeout", str(timeout)],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        errors="replace", check=False,
    )
    return f"{result.stdout}[boot exit code {result.returncode}]\n"


def main() -> int:
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    runs_text = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("N") or "100"
    try:
        runs = int(runs_text)
        if runs < 1:
            raise ValueError
    except ValueError:
        print(f"soak: N must be a positive whole number, not {runs_text!r}", file=sys.stderr)
        return 2
    timeout = int(os.environ.get("SOAK_TIMEOUT") or "60")

    build()
    # Boot a private copy of the ELF: other builds in the workspace may
    # replace target/.../kernel while the soak runs.
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        kernel = Path(tmp) / "kernel"
        shutil.copy2(KERNEL, kernel)
        transcripts = []
        for run in range(1, runs + 1):
            transcripts.append(normalise(boot_once(kernel, timeout)))
            print(f"\rsoak: boot {run}/{runs}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    counts = collections.Counter(transcripts)
    common, identical = counts.most_common(1)[0]
    successes = sum(t.endswith("[boot exit code 0]\n") for t in transcripts)
    print(f"soak: {identical}/{runs} transcripts identical after normalising addresses "
          f"({len(counts)} distinct, {successes}/{runs} boots exited 0)")
    differing = [run for run, t in enumerate(transcripts, 1) if t != common]
    if differing:
        print(f"soak: runs that differ: {', '.join(map(str, differing))}")
    for transcript in transcripts:
        if transcript != common:
            print("soak: first transcript that differs from the most common one:")
            sys.stdout.writelines(difflib.unified_diff(
                common.splitlines(keepends=True), transcript.splitlines(keepends=True),
                "most common", "differing", n=2))
            break
    return 0 if identical == runs and successes == runs else 1


if __name__ == "__main__":
    sys.exit(main())
