#!/usr/bin/env python3
"""A gdb session on the kernel, as a user would see it typed: a listing for
the book (docs/listings.toml runs it).

    scripts/gdb_listing.py COMMANDS.gdb [-- BOOT_ARGS...]

Starts `$BOOT BOOT_ARGS --gdb-server` (the boot tool; default
target/debug/boot), attaches `gdb -batch` with gdb/kernel.gdb, which runs to
_start, then runs the commands of COMMANDS.gdb one by one and prints each as
`(gdb) COMMAND` followed by what gdb answered: what a session typed at gdb's
prompt shows. With --server-lines, the boot tool's own lines (how to attach)
come first. The boot tool, and its QEMU with it, are stopped at the end.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commands", help="a file of gdb commands, one a line")
    parser.add_argument("--server-lines", action="store_true",
                        help="print the boot tool's lines first, up to the attach command")
    parser.add_argument("boot_args", nargs="*", help="after --: the boot tool's arguments")
    args = parser.parse_args()
    commands = [line.rstrip("\n") for line in open(args.commands)
                if line.strip() and not line.startswith("#")]
    boot = os.environ.get("BOOT", str(ROOT / "target" / "debug" / "boot"))
    server = subprocess.Popen(
        [boot, *args.boot_args, "--gdb-server"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        for line in server.stderr:
            lines.append(line.rstrip("\n"))
            match = re.search(r"gdb (\S+) -ex 'target remote 127\.0\.0\.1:(\d+)'", line)
            if match:
                elf, port = match.groups()
                break
        else:
            sys.exit("gdb_listing: the boot tool ended without an attach command:\n"
                     + "\n".join(lines))
        # Keep reading what it says, so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        if args.server_lines:
            # The tool's own lines, without cargo's (a build it started).
            print("\n".join(line for line in lines if line.startswith("boot:")))
            return
        gdb = ["gdb", "-q", "-nx", "-batch", elf,
               "-ex", "target remote 127.0.0.1:%s" % port, "-x", "gdb/kernel.gdb",
               "-ex", "echo @@@ start\\n"]
        for command in commands:
            gdb += ["-ex", "echo @@@ %s\\n" % command.replace("\\", "\\\\"), "-ex", command]
        result = subprocess.run(gdb, cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=300)
        output = result.stdout.split("@@@ start\n", 1)
        if len(output) != 2:
            sys.exit("gdb_listing: gdb did not reach the commands:\n" + result.stdout)
        for line in output[1].rstrip("\n").split("\n"):
            print("(gdb) " + line[4:] if line.startswith("@@@ ") else line)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
