#!/usr/bin/env python3
"""Counts the instructions of one round trip (resume + yield back) of our
switch and of corosensei's, with valgrind's callgrind.

Builds bench/examples/round_trips.rs (release), runs it under
`valgrind --tool=callgrind` with N = 1000 and N = 101000 round trips for each
switch, and prints (Ir(101000) - Ir(1000)) / 100000: set-up, exit and the
first resume cancel out, the loop of `round_trip` in the benchmarks stays
(its black_box stores and loads, the counter). Exact and independent of
load, unlike a timing; docs/measuring.md quotes it.

Usage: python3 scripts/icount.py
Standard library only (Python 3.11); needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / "target" / "release" / "examples" / "round_trips"
LOW, HIGH = 1000, 101000


def instructions(which: str, n: int) -> int:
    """Instructions callgrind counts for `round_trips WHICH N`."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(EXE), which, str(n)]
    result = subprocess.run(cmd, text=True, capture_output=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not match:
        sys.exit(f"icount.py: {' '.join(cmd)} failed:\n{result.stderr}")
    return int(match.group(1))


def main() -> None:
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(sys.argv) > 1:
        print("usage: python3 scripts/icount.py (no arguments)", file=sys.stderr)
        sys.exit(2)
    if not shutil.which("valgrind"):
        print("icount.py: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        sys.exit(2)
    build = ["cargo", "build", "--release", "-p", "switch-bench", "--example", "round_trips"]
    if subprocess.run(build, cwd=ROOT).returncode != 0:
        sys.exit("icount.py: " + " ".join(build) + " failed")
    for which in ("ours", "corosensei"):
        per_trip = (instructions(which, HIGH) - instructions(which, LOW)) / (HIGH - LOW)
        print(f"{which:<10} {per_trip:.2f} instructions per round trip")


if __name__ == "__main__":
    main()
