#!/usr/bin/env python3
"""Runs the round-trip benchmarks and ends with one headline: ours / corosensei.

What it does, in order:

1. Measures the TSC frequency with `cargo bench --bench tsc_freq`: rdtsc
   before and after a 200 ms sleep against the monotonic clock, five times,
   median (bench/benches/tsc_freq.rs). The kernel's own figure
   (/proc/cpuinfo "cpu MHz" on a tsc_known_freq VM) is printed beside it as a
   cross-check.
2. Runs `cargo bench -p switch-bench --bench round_trip`, pinned to one
   core with `taskset -c <core>` when taskset exists, --runs times (default
   3): criterion measures one resume + yield round trip for ours, corosensei,
   context (fcontext) and the floor (an indirect call).
3. Reads criterion's median point estimates from
   target/criterion/round_trip/<id>/new/estimates.json after each run and
   keeps, per switch, the lowest of the runs' medians: on a shared machine a
   run is only ever slowed down by other load, never sped up. Prints, per
   switch: ns per round trip, TSC ticks per round trip (= ns x TSC GHz:
   criterion measures wall time, the TSC converts it), the ratio to ours and
   every run's median. These are the detail.
4. The headline: runs the design lab --lab-runs times (default 9) with only
   the safe API (`LAB=real_safe_api`, bench/benches/variants.rs):
   interleaved rounds in which ours, the bare switch and corosensei each
   run the same number of round trips, timed with rdtsc. Criterion measures
   one switch for seconds, then the next, and a shared host's speed drifts
   by up to 2x over seconds; the ratio of two switches within one round of
   a few milliseconds does not see that drift. The lab is built with every
   loop aligned to 64 bytes (`-C llvm-args=-align-loops=64`, in
   target/lab-aligned): where the linker happens to put the timed loops
   moved its ratios by up to 20 % from build to build, aligned they stay
   within a few % (docs/measuring.md). Each of the three also runs with its
   loop's stack pointer at each of the four 16-byte offsets of a cache line
   (where a process's stack lands decides the level of a caller that
   stores the whole result), and ours and corosensei also in copies of the
   lab's library (bench/src) loaded at each of the eight code pages modulo
   8 (`LAB_CODE`: where the loader puts the code decides a process's level
   on some CPUs); the run's figure is ours / corosensei over the mean of
   those 32 placements. Prints the median and range of the runs' figures
   with the CPU and the load, says in words when the runs disagree by more
   than 10 %, compares the median with the goal (0.9) as information, and
   gives each placement's figure, the same runs with the code where each
   process's loader put it, and as each process landed (unplaced); the
   exit code only reflects whether the benchmarks ran.

`--steady` does only step 4, --runs times (default 20), one line per run:
the experiment docs/measuring.md quotes for the switch's steadiness, each
run's figure beside the same run at its own code page and unplaced.

`--code-sweep N` links the lab (non-PIE) at N addresses a page apart from
0x400000 and runs each --runs times (default 2): one line per address and
the medians by page modulo 8 (docs/measuring.md, "Where the code lands").

Usage: python3 scripts/bench.py [--core N] [--runs N] [--lab-runs N] [--no-run]
                                [--markdown] [--steady] [--code-sweep N]
  --runs N      criterion runs to take the lowest median of (default 3);
                with --steady, lab runs (default 20)
  --lab-runs N  lab runs for the headline (default 9)
  --no-run      only re-read the last criterion results (no cargo bench)
  --markdown    print the table as Markdown
  --steady      only the lab's consecutive paired runs, one line each
  --code-sweep N  only the lab, linked at N addresses a page apart
Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion" / "round_trip"
IDS = ["ours", "corosensei", "context", "floor"]
LABELS = {
    "ours": "ours (coroutine-switch, safe API)",
    "corosensei": "corosensei 0.3.4",
    "context": "context 3.0.0 (Boost fcontext)",
    "floor": "floor (indirect call via black_box)",
}
GOAL = 0.9


def pinned(cmd: list[str], core: int) -> list[str]:
    """Prefixes `cmd` with taskset when it exists."""
    if shutil.which("taskset"):
        return ["taskset", "-c", str(core), *cmd]
    print("bench.py: taskset not found, running unpinned", file=sys.stderr)
    return cmd


def cargo_bench(name: str, core: int, capture: bool) -> str:
    cmd = pinned(["cargo", "bench", "-p", "switch-bench", "--bench", name], core)
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    # Criterion's own report goes to stderr, so that stdout is the table alone
    # (`--markdown > table.md`).
    result = subprocess.run(
        cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE if capture else sys.stderr
    )
    if result.returncode != 0:
        sys.exit(f"bench.py: {' '.join(cmd)} failed with exit code {result.returncode}")
    return result.stdout or ""


# The lab's build (step 4): its own target directory, so that the flag does
# not rebuild target/ for everything else.
LAB_ENV = {
    "RUSTFLAGS": (os.environ.get("RUSTFLAGS", "") + " -C llvm-args=-align-loops=64").strip(),
    "CARGO_TARGET_DIR": str(ROOT / "target" / "lab-aligned"),
}
# Spread over the runs beyond which they are said to disagree.
DISAGREE = 0.10
# A code page whose runs' median is this much above the fastest page's is
# named as slow under the headline.
SLOW_PAGE = 1.02


class Lab(NamedTuple):
    """The lab's executable and the library it loads at every code page."""

    exe: Path
    library: Path


def lab_executable() -> Lab:
    """Builds the lab (aligned loops) and returns its executable and the
    cdylib of its library (bench/src), which it loads once per code page."""
    cmd = ["cargo", "bench", "-p", "switch-bench", "--bench", "variants", "--no-run",
           "--message-format=json"]
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in LAB_ENV.items())
    print(f"$ {shown} " + " ".join(cmd), file=sys.stderr, flush=True)
    result = subprocess.run(
        cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, env={**os.environ, **LAB_ENV}
    )
    if result.returncode != 0:
        sys.exit(f"bench.py: building the lab failed with exit code {result.returncode}")
    exe = library = None
    for line in result.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact":
            continue
        if msg["target"]["name"] == "variants" and msg.get("executable"):
            exe = Path(msg["executable"])
        if msg["target"]["name"] == "switch_bench":
            library = next((Path(f) for f in msg["filenames"] if f.endswith(".so")), library)
    if exe is None or library is None:
        sys.exit(f"bench.py: cargo built no lab {'executable' if exe is None else 'library'}")
    return Lab(exe, library)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


PLACEMENTS = ["0", "16", "32", "48"]


PAGES = range(8)


def lab_paired(exe: Path, core: int, library: Path | None) -> dict[str, float]:
    """Runs the lab once with the safe API only; returns, from its "/
    corosensei, paired" column (the median over the rounds of each round's
    ratio to corosensei at the same placements):

    - "ours" (with `library`): `real_safe_api@code`, the mean over the
      copies of the library at the eight code pages (`LAB_CODE`) and the
      four placements of the stack in a cache line: the run's headline
      figure; "ours#0" .. "ours#7" each page's mean over the four;
    - "here": `real_safe_api@all`, the mean over the four placements of the
      stack with the code where the loader put the process's own, at page
      "page" modulo 8 (docs/measuring.md, "Where the code lands");
    - "bare": `v2_pair@all`, the bare switch, likewise;
    - "ours@0" .. "ours@48": the safe API at each placement of the stack
      (the process's own code), and "ticks ours@K", "ticks corosensei@K"
      their ticks per round trip;
    - "landed": `real_safe_api` as the process's stack and code placed it,
      and "landed at" that placement (RSP mod 64), as every run measured
      before the lab placed its loops."""
    cmd = pinned([str(exe), "--bench"], core)
    env = {**os.environ, "LAB": "real_safe_api", "LAB_RSP": "1"}
    if library is not None:
        env["LAB_CODE"] = str(library)
    result = subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, env=env)
    if result.returncode != 0:
        sys.exit(f"bench.py: the lab ({' '.join(cmd)}) failed with exit code {result.returncode}")
    lines = result.stdout.splitlines()
    header = next((line for line in lines if line.startswith("| variant |")), None)
    if header is None:
        sys.exit(f"bench.py: no table in the lab's output:\n{result.stdout}")
    names = [c.strip() for c in header.strip("|").split("|")]
    paired_at, ticks_at = names.index("/ corosensei, paired"), names.index("ticks median")
    table = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(names) and cells[0] != "variant" and not cells[0].startswith("-"):
            table[cells[0]] = (float(cells[paired_at]), float(cells[ticks_at]))
    landed = re.search(r"^rsp real_safe_api: 0x[0-9a-f]+ \((\d+) mod 64\)", result.stdout, re.M)
    page = re.search(r"^code: switch_into at 0x[0-9a-f]+, page (\d) modulo 8$", result.stdout, re.M)
    wanted = ["real_safe_api", "real_safe_api@all", "v2_pair@all"] + [
        f"{name}@{at}" for name in ("real_safe_api", "corosensei") for at in PLACEMENTS
    ]
    if library is not None:
        wanted += ["real_safe_api@code"] + [f"real_safe_api#{p}@all" for p in PAGES]
    missing = [name for name in wanted if name not in table]
    if missing or landed is None or page is None:
        lacks = missing or ("rsp real_safe_api" if landed is None else "its code line")
        sys.exit(f"bench.py: the lab's output lacks {lacks}:\n{result.stdout}")
    run = {
        "here": table["real_safe_api@all"][0],
        "bare": table["v2_pair@all"][0],
        "landed": table["real_safe_api"][0],
        "landed at": float(landed.group(1)),
        "page": float(page.group(1)),
    }
    if library is not None:
        run["ours"] = table["real_safe_api@code"][0]
        for p in PAGES:
            run[f"ours#{p}"] = table[f"real_safe_api#{p}@all"][0]
    for at in PLACEMENTS:
        run[f"ours@{at}"] = table[f"real_safe_api@{at}"][0]
        run[f"ticks ours@{at}"] = table[f"real_safe_api@{at}"][1]
        run[f"ticks corosensei@{at}"] = table[f"corosensei@{at}"][1]
    return run


def lab_runs(core: int, n: int, each: bool) -> list[dict[str, float]]:
    """Runs the lab n times in a row; with `each`, prints a line per run."""
    lab = lab_executable()
    runs = []
    for i in range(n):
        run = lab_paired(lab.exe, core, lab.library)
        runs.append(run)
        if each:
            print(
                f"run {i + 1:2}: ours / corosensei {run['ours']:.3f} (every placement of code "
                f"and stack), bare switch {run['bare']:.3f}; the process's own code (page "
                f"{run['page']:.0f} modulo 8) {run['here']:.3f}; as the process landed (RSP "
                f"mod 64 = {run['landed at']:2.0f}) {run['landed']:.3f}; load {load_average()}",
                flush=True,
            )
    return runs


# The code sweep's builds: non-PIE, so that the link address is where the
# code runs, in a target directory of their own.
SWEEP_ENV = {
    "RUSTFLAGS": LAB_ENV["RUSTFLAGS"] + " -C relocation-model=static -C link-arg=-no-pie",
    "CARGO_TARGET_DIR": str(ROOT / "target" / "lab-linked-at"),
}
# The first address the sweep links at: the linker's default for non-PIE.
SWEEP_FROM = 0x400000


def host_triple() -> str:
    out = subprocess.run(["rustc", "-vV"], cwd=ROOT, text=True, stdout=subprocess.PIPE).stdout
    match = re.search(r"^host: (\S+)$", out, re.M)
    if not match:
        sys.exit(f"bench.py: `rustc -vV` names no host:\n{out}")
    return match.group(1)


def lab_linked_at(base: int, triple: str) -> Path:
    """The lab linked at `base` (non-PIE): a copy of the executable, named
    by its address. The target is named explicitly so that RUSTFLAGS only
    reach the lab, not build scripts and proc macros (which cannot be built
    non-PIE); after the first, each build only relinks."""
    cmd = ["cargo", "rustc", "-p", "switch-bench", "--bench", "variants", "--profile", "bench",
           "--target", triple, "--message-format=json", "--",
           "-C", f"link-arg=-Wl,--image-base={base:#x}"]
    result = subprocess.run(
        cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, env={**os.environ, **SWEEP_ENV}
    )
    if result.returncode != 0:
        sys.exit(f"bench.py: linking the lab at {base:#x} failed with exit code "
                 f"{result.returncode}")
    for line in result.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "variants":
            if msg.get("executable"):
                copy = Path(SWEEP_ENV["CARGO_TARGET_DIR"]) / f"variants-at-{base:#x}"
                shutil.copy2(msg["executable"], copy)
                return copy
    sys.exit("bench.py: cargo built no lab executable")


def code_sweep(core: int, bases: int, runs: int) -> None:
    """Links the lab at `bases` addresses a page apart and runs each `runs`
    times (the rounds interleaved across the addresses): one line per
    address, then the medians by page modulo 8. The process's stack and heap
    still land at random; only the code's address is fixed."""
    triple = host_triple()
    print(f"Linking the lab at {bases} addresses from {SWEEP_FROM:#x}, a page apart "
          f"(non-PIE, {triple})", file=sys.stderr, flush=True)
    exes = [(SWEEP_FROM + i * 0x1000, lab_linked_at(SWEEP_FROM + i * 0x1000, triple))
            for i in range(bases)]
    print(f"CPU: {cpuinfo_mhz()}; pinned to CPU {core}; load {load_average()}")
    found: dict[int, list[dict[str, float]]] = {base: [] for base, _ in exes}
    for _ in range(runs):
        for base, exe in exes:
            found[base].append(lab_paired(exe, core, None))
    for base, labs in found.items():
        print(
            f"{base:#x} (page {labs[0]['page']:.0f} modulo 8): ours / corosensei "
            + " ".join(f"{lab['here']:.3f}" for lab in labs)
            + "; bare switch " + " ".join(f"{lab['bare']:.3f}" for lab in labs),
            flush=True,
        )
    print(f"Medians by page modulo 8 (ours / corosensei at every placement of the stack; "
          f"load {load_average()}):")
    medians = []
    for page in sorted({lab["page"] for labs in found.values() for lab in labs}):
        ours = [lab["here"] for labs in found.values() for lab in labs if lab["page"] == page]
        bare = [lab["bare"] for labs in found.values() for lab in labs if lab["page"] == page]
        median, lo, hi, _ = spread(ours)
        medians.append(median)
        print(f"  {page:.0f}: {median:.3f} ({lo:.3f}-{hi:.3f}, {n_runs(len(ours))}); "
              f"bare switch {spread(bare)[0]:.3f}")
    if len(medians) == 8:
        print(f"Their mean, the figure a process placed at random is expected to give: "
              f"{sum(medians) / 8:.3f}")


def n_runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def spread(values: list[float]) -> tuple[float, float, float, float]:
    """The median, lowest and highest of `values`, and how far the farthest
    is from the median, as a fraction of it."""
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    lo, hi = ordered[0], ordered[-1]
    return median, lo, hi, max(median - lo, hi - median) / median


def headline(labs: list[dict[str, float]]) -> None:
    """The figure `make bench` ends with: the median and range over the runs
    of the paired ours / corosensei at every placement of the code and the
    stack, with the CPU, in words whether the runs agree, what each
    placement costs, and the same runs as each process happened to land."""
    median, lo, hi, far = spread([lab["ours"] for lab in labs])
    bare = spread([lab["bare"] for lab in labs])[0]
    print()
    print(
        f"HEADLINE: ours / corosensei = {median:.2f} (median of {len(labs)} paired lab runs, "
        f"range {lo:.2f}-{hi:.2f}, each the mean of the eight placements of the code and the "
        f"four of the caller's stack in a cache line; bare switch {bare:.2f}) on "
        f"{cpu_model()}, load {load_average()}"
    )
    if far > DISAGREE:
        print(
            f"The runs DISAGREE: the farthest is {far:.0%} from their median (more than "
            f"{DISAGREE:.0%}); quieten the machine and run `make steady` to see each run."
        )
    else:
        print(f"The runs agree: every run within {far:.1%} of their median.")
    above = sum(lab["ours"] > 1.0 for lab in labs)
    verdict = "met" if median <= GOAL else "NOT met"
    print(
        f"Goal ours / corosensei <= {GOAL}: {verdict} (information, not a failure); "
        f"{above} of {len(labs)} runs above 1.0"
    )
    at = lambda key: spread([lab[key] for lab in labs])[0]  # noqa: E731
    print(
        "Per placement of the stack (the caller's RSP mod 64, the process's own code; "
        "medians over the runs): "
        + ", ".join(
            f"{p}: {at(f'ours@{p}'):.2f} ({at(f'ticks ours@{p}'):.1f} against "
            f"{at(f'ticks corosensei@{p}'):.1f} ticks)"
            for p in PLACEMENTS
        )
    )
    on_page = {p: at(f"ours#{p}") for p in PAGES}
    print(
        "Per placement of the code (its page modulo 8, every placement of the stack; medians "
        "over the runs): " + ", ".join(f"{p}: {on_page[p]:.2f}" for p in PAGES)
    )
    # Pages more than 2 % above the fastest: said in words, since they are
    # what spreads the runs of processes measured only where they landed.
    fastest = min(on_page.values())
    slow = [p for p in PAGES if on_page[p] > SLOW_PAGE * fastest]
    if slow:
        fast_pages = spread([on_page[p] for p in PAGES if p not in slow])[0]
        slow_pages = spread([on_page[p] for p in slow])[0]
        print(
            f"Code at page{'s' if len(slow) > 1 else ''} "
            + ", ".join(str(p) for p in slow)
            + f" runs {slow_pages / fast_pages - 1:.0%} slower than at the others: a process "
            "gets the level of the page the loader picked for it (docs/measuring.md, "
            '"Where the code lands").'
        )
    here, lo, hi, far = spread([lab["here"] for lab in labs])
    print(
        f"With the code where each process's loader put it (the stack placed): {here:.2f}, "
        f"range {lo:.2f}-{hi:.2f} (farthest {far:.1%} from the median)."
    )
    landed, lo, hi, far = spread([lab["landed"] for lab in labs])
    print(
        f"As each process's code and stack landed, unplaced: {landed:.2f}, range "
        f"{lo:.2f}-{hi:.2f} (farthest {far:.0%} from the median): the figure a single run "
        "used to give."
    )


def measured_tsc_mhz(core: int) -> float:
    out = cargo_bench("tsc_freq", core, capture=True)
    match = re.search(r"^tsc_mhz ([0-9.]+)$", out, re.MULTILINE)
    if not match:
        sys.exit(f"bench.py: no tsc_mhz line in the tsc_freq output:\n{out}")
    samples = re.search(r"^tsc_samples_mhz (.*)$", out, re.MULTILINE)
    if samples:
        print(f"TSC calibration samples (MHz): {samples.group(1)}", file=sys.stderr)
    return float(match.group(1))


def cpuinfo(field: str) -> str | None:
    """The first value of `field` in /proc/cpuinfo, if there is one."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    match = re.search(rf"^{re.escape(field)}\s*:\s*(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def cpuinfo_mhz() -> str:
    tsc_flags = [
        f for f in (cpuinfo("flags") or "").split()
        if f in ("constant_tsc", "nonstop_tsc", "tsc_known_freq")
    ]
    return (
        f"{cpuinfo('model name') or '?'}, /proc/cpuinfo cpu MHz "
        f"{cpuinfo('cpu MHz') or '?'} ({' '.join(tsc_flags) or 'no TSC flags'})"
    )


def cpu_model() -> str:
    """The CPU as lscpu names it, with the number of CPUs the OS sees."""
    return f"{cpuinfo('model name') or 'an unknown CPU'} ({os.cpu_count()} CPUs)"


def median_ns(bench_id: str) -> float:
    path = CRITERION / bench_id / "new" / "estimates.json"
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        sys.exit(f"bench.py: cannot read {path}: {e}")
    return float(data["median"]["point_estimate"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_core = 1 if (os.cpu_count() or 1) > 1 else 0
    parser.add_argument("--core", type=int, default=default_core)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--lab-runs", type=int, default=9)
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--steady", action="store_true")
    parser.add_argument("--code-sweep", type=int, metavar="N")
    args = parser.parse_args()

    if args.code_sweep is not None:
        if args.code_sweep < 1:
            parser.error("--code-sweep takes a number of addresses, at least 1")
        code_sweep(args.core, args.code_sweep, max(1, args.runs or 2))
        return

    if args.steady:
        n = max(1, args.runs or 20)
        print(f"CPU: {cpuinfo_mhz()}; pinned to CPU {args.core}; load {load_average()}")
        headline(lab_runs(args.core, n, each=True))
        return

    tsc_mhz = measured_tsc_mhz(args.core)
    runs: dict[str, list[float]] = {i: [] for i in IDS}
    for _ in range(0 if args.no_run else max(1, args.runs or 3)):
        cargo_bench("round_trip", args.core, capture=False)
        for i in IDS:
            runs[i].append(median_ns(i))
    if args.no_run:
        for i in IDS:
            runs[i].append(median_ns(i))
    ns = {i: min(runs[i]) for i in IDS}
    ghz = tsc_mhz / 1000.0

    print()
    print(f"CPU: {cpuinfo_mhz()}")
    print(f"TSC: {tsc_mhz:.1f} MHz, measured (rdtsc over 5 x 200 ms sleeps, median)")
    print(
        "criterion (detail): one round trip = main -> coroutine -> main; median, lowest of "
        f"{len(runs['ours'])} run(s); ticks = ns x {ghz:.4f} GHz; load average {load_average()}"
    )
    head = ["switch", "ns / round trip", "TSC ticks / round trip", "ratio to ours"]
    rows = [
        [
            LABELS[i],
            f"{ns[i]:.2f}",
            f"{ns[i] * ghz:.1f}",
            f"{ns[i] / ns['ours']:.2f}x",
        ]
        for i in IDS
    ]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] + ["---:"] * 3) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[c]) for r in [head, *rows]) for c in range(4)]
        line = lambda r: "  ".join(  # noqa: E731
            r[c].ljust(widths[c]) if c == 0 else r[c].rjust(widths[c]) for c in range(4)
        )
        print(line(head))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
    print()
    for i in IDS:
        print(f"{i}: medians of each run (ns): " + ", ".join(f"{v:.2f}" for v in runs[i]))
    # Criterion runs one switch for seconds, then the next: this ratio mixes
    # the host's quiet and busy periods, which the headline's does not.
    print(
        "criterion's ours / corosensei in each run (unpaired): "
        + ", ".join(f"{o / c:.2f}" for o, c in zip(runs["ours"], runs["corosensei"]))
    )
    if not args.no_run:
        headline(lab_runs(args.core, max(1, args.lab_runs), each=False))


if __name__ == "__main__":
    main()
