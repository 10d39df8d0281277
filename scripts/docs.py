#!/usr/bin/env python3
"""The listings of README.md and docs/, regenerated from real runs, and the
links between those pages, checked.

A listing is the output of a command run from the repository root. The
commands, and the normalisations applied to their output, are declared once,
in docs/listings.toml. A page quotes a listing between two comments:

    <!-- listing: run from="== phase 1" to="coroutine1 yielded 1" -->
    ```text
    ... written by `make docs` ...
    ```
    <!-- end listing -->

Options of the opening comment, all optional, applied in this order:
  from="RE"   start at the first line matching RE (inclusive)
  to="RE"     stop at the first line matching RE at or after the start
  more=N      and take N lines more
  keep="RE"   keep only the lines matching RE
  drop="RE"   leave out the lines matching RE
  fence=LANG  the code block's language (default text); fence=none writes
              the lines as they are (a Markdown table, say)

Subcommands:
  generate [NAME...]  run the commands (all, or the named listings) and
                      rewrite every block quoting them (`make docs`)
  check               run the listings marked `check = true` (cheap ones)
                      and fail with a diff where a committed block differs
                      once the masks of docs/listings.toml are applied
  links               check that every relative link and #anchor in
                      README.md and docs/*.md resolves
  list                the listings, their commands, and where they are quoted

The commands see BOOT, the boot tool's path (default target/debug/boot), in
their environment.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "docs" / "listings.toml"
OPEN = re.compile(r"^<!-- listing: (?P<name>[\w.-]+)(?P<options>.*?) -->\n", re.M)
CLOSE = "<!-- end listing -->"


# Where README.md and docs/ are read from: the repository, or a copy of
# them (--pages), which the tests edit to see the checks fail.
PAGES = ROOT


def pages():
    """README.md and the chapters."""
    return [PAGES / "README.md"] + sorted((PAGES / "docs").glob("*.md"))


def load_registry():
    with open(REGISTRY, "rb") as file:
        registry = tomllib.load(file)
    places = {"root": str(ROOT), "home": os.path.expanduser("~")}

    def pattern(text):
        for place, path in places.items():
            text = text.replace("{%s}" % place, re.escape(path))
        return re.compile(text)

    def rules(kind):
        return [(pattern(rule["pattern"]), rule["replace"]) for rule in registry.get(kind, [])]

    return registry["listings"], rules("rewrite"), rules("mask")


def apply(rules, text):
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def parse_options(text, page, name):
    options = {}
    for key, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', text):
        options[key] = value[1:-1] if value.startswith('"') else value
    unknown = set(options) - {"from", "to", "more", "keep", "drop", "fence"}
    if unknown:
        fail("%s: listing %s: unknown option %s" % (page, name, ", ".join(sorted(unknown))))
    return options


def select(lines, options, where):
    """The lines a block quotes, chosen by its options."""
    if "from" in options:
        start = first(lines, options["from"], 0, where)
        lines = lines[start:]
    if "to" in options:
        end = first(lines, options["to"], 0, where)
        lines = lines[: end + 1 + int(options.get("more", 0))]
    if "keep" in options:
        lines = [line for line in lines if re.search(options["keep"], line)]
    if "drop" in options:
        lines = [line for line in lines if not re.search(options["drop"], line)]
    return lines


def first(lines, pattern, start, where):
    for i in range(start, len(lines)):
        if re.search(pattern, lines[i]):
            return i
    fail("%s: no line matches %r in the listing's output" % (where, pattern))


def blocks(page):
    """(name, options, start, end) of each listing block of a page; start and
    end delimit the text between the two comments."""
    text = page.read_text()
    fenced = fenced_lines(text)
    found = []
    for match in OPEN.finditer(text):
        if text.count("\n", 0, match.start()) in fenced:
            continue  # an example in a code block, not a listing
        end = text.find(CLOSE, match.end())
        if end < 0:
            fail("%s: listing %s has no %s" % (rel(page), match["name"], CLOSE))
        found.append((match["name"], match["options"], match.end(), end))
    return text, found


def fenced_lines(text):
    """The numbers (from 0) of the lines inside fenced code blocks."""
    inside, fenced = False, set()
    for number, line in enumerate(text.split("\n")):
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            fenced.add(number)
    return fenced


def render(lines, options):
    body = "\n".join(lines) + "\n"
    fence = options.get("fence", "text")
    if fence == "none":
        return body
    return "```" + fence + "\n" + body + "```\n"


def run(name, listing, rewrite):
    """A listing's output, rewritten, as lines."""
    env = dict(os.environ)
    env.setdefault("BOOT", str(ROOT / "target" / "debug" / "boot"))
    print("docs: %s: %s" % (name, listing["command"]), file=sys.stderr)
    result = subprocess.run(
        listing["command"],
        shell=True,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=listing.get("timeout", 600),
    )
    expected = listing.get("status", 0)
    if result.returncode != expected:
        fail(
            "docs: %s exited with %d, not %d:\n%s%s"
            % (name, result.returncode, expected, result.stdout, result.stderr)
        )
    text = apply(rewrite, result.stdout)
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def quoted(listings):
    """Every block of every page, checked to name a declared listing."""
    out = []
    for page in pages():
        text, found = blocks(page)
        for name, options, start, end in found:
            if name not in listings:
                fail("%s: listing %s is not declared in %s" % (rel(page), name, rel(REGISTRY)))
            out.append((page, name, parse_options(options, rel(page), name)))
    return out


def generate(names):
    listings, rewrite, mask = load_registry()
    quoted(listings)
    unknown = set(names) - set(listings)
    if unknown:
        fail("docs: no listing named %s in %s" % (", ".join(sorted(unknown)), rel(REGISTRY)))
    wanted = names or sorted({name for _, name, _ in quoted(listings)})
    outputs = {name: run(name, listings[name], rewrite) for name in wanted}
    # Each page's blocks, with the text this run gives them.
    rendered = []
    changed = set()
    for page in pages():
        text, found = blocks(page)
        fresh = []
        for name, options, start, end in found:
            if name in outputs:
                where = "%s: listing %s" % (rel(page), name)
                options = parse_options(options, rel(page), name)
                block = render(select(outputs[name], options, where), options)
                if apply(mask, text[start:end]) != apply(mask, block):
                    changed.add(name)
                fresh.append(block)
            else:
                fresh.append(None)
        rendered.append((page, text, found, fresh))
    # A listing whose blocks differ only where the masks hide it (an
    # address, a timing) keeps its committed text everywhere: no churn from
    # run to run, and all its blocks stay from one run.
    for page, text, found, fresh in rendered:
        pieces, last = [], 0
        for (name, _, start, end), block in zip(found, fresh):
            pieces.append(text[last:start])
            pieces.append(block if name in changed else text[start:end])
            last = end
        pieces.append(text[last:])
        new = "".join(pieces)
        if new != text:
            page.write_text(new)
            print("docs: rewrote %s" % rel(page), file=sys.stderr)


def check(names):
    listings, rewrite, mask = load_registry()
    cheap = {name for name, listing in listings.items() if listing.get("check")}
    if names:
        if set(names) - cheap:
            fail("docs: not listings checked by make test: %s" % ", ".join(sorted(set(names) - cheap)))
        cheap = set(names)
    quoted_blocks = quoted(listings)
    cheap &= {name for _, name, _ in quoted_blocks}
    outputs = {name: run(name, listings[name], rewrite) for name in sorted(cheap)}
    differences = []
    for page in pages():
        text, found = blocks(page)
        for name, options, start, end in found:
            if name not in cheap:
                continue
            where = "%s: listing %s" % (rel(page), name)
            options = parse_options(options, rel(page), name)
            fresh = render(select(outputs[name], options, where), options)
            committed = text[start:end]
            if apply(mask, committed) != apply(mask, fresh):
                differences.append(diff(where, committed, fresh, mask))
    checked = sum(1 for _, name, _ in quoted_blocks if name in cheap)
    if differences:
        print("\n".join(differences))
        fail(
            "docs: %d of %d checked listings differ from what the code prints now "
            "(masks: %s); `make docs` rewrites them" % (len(differences), checked, rel(REGISTRY))
        )
    print("docs: %d listings quoted, %d checked against a fresh run, all as committed"
          % (len(quoted_blocks), checked))


def diff(where, committed, fresh, mask):
    """The lines that differ once masked, shown as they are on each side."""
    old, new = committed.split("\n"), fresh.split("\n")
    matcher = difflib.SequenceMatcher(
        None, [apply(mask, line) for line in old], [apply(mask, line) for line in new], False
    )
    out = ["--- %s (committed)" % where, "+++ %s (this run)" % where]
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out.append("@@ committed line %d, this run line %d @@" % (a1 + 1, b1 + 1))
        out += ["-" + line for line in old[a1:a2]] + ["+" + line for line in new[b1:b2]]
    return "\n".join(out) + "\n"


# --- links -----------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:href|src)="([^"]+)\"""")


def without_code(text):
    """The text with fenced blocks and inline code blanked (line numbers
    kept), where link syntax is not a link."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
        elif fenced:
            out.append("")
        else:
            out.append(re.sub(r"`[^`]*`", "``", line))
    return "\n".join(out)


def slug(heading):
    """The anchor GitHub and mdBook give a heading."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page):
    seen, out = {}, set()
    for line in without_code(page.read_text()).split("\n"):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else "%s-%d" % (base, count))
        out.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', line))
    return out


def links():
    broken = []
    total = 0
    for page in pages():
        text = without_code(page.read_text())
        for number, line in enumerate(text.split("\n"), 1):
            for target in LINK.findall(line) + HTML_LINK.findall(line):
                if re.match(r"[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                total += 1
                problem = resolve(page, target)
                if problem:
                    broken.append("%s:%d: %s: %s" % (rel(page), number, target, problem))
    if broken:
        print("\n".join(broken))
        fail("docs: %d of %d relative links do not resolve" % (len(broken), total))
    print("docs: %d relative links in %d pages, all resolve" % (total, len(pages())))


def resolve(page, target):
    path, _, anchor = target.partition("#")
    file = (page.parent / path).resolve() if path else page
    try:
        file.relative_to(PAGES)
    except ValueError:
        return "outside the repository"
    if not file.exists():
        return "no such file"
    if anchor:
        if file.suffix != ".md":
            return "an anchor into a file that is not Markdown"
        if anchor not in anchors(file):
            return "no heading #%s in %s" % (anchor, rel(file))
    return None


# ---------------------------------------------------------------------------


def rel(path):
    path = Path(path).resolve()
    for base in (PAGES, ROOT):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def list_listings():
    listings, _, _ = load_registry()
    used = {}
    for page, name, _ in quoted(listings):
        used.setdefault(name, []).append(rel(page))
    for name, listing in listings.items():
        print("%-16s %-6s %s" % (name, "check" if listing.get("check") else "", listing["command"]))
        print("%-16s        quoted in: %s" % ("", ", ".join(sorted(set(used.get(name, [])))) or "nowhere"))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="rewrite the quoted listings from fresh runs")
    gen.add_argument("names", nargs="*", metavar="NAME")
    chk = sub.add_parser("check", help="compare the cheap listings with a fresh run")
    chk.add_argument("names", nargs="*", metavar="NAME", help="only these listings")
    sub.add_parser("links", help="check every relative link and #anchor")
    parser.add_argument("--pages", metavar="DIR", type=Path,
                        help="read README.md and docs/ from DIR instead (the tests' edited copies)")
    sub.add_parser("list", help="the listings and where they are quoted")
    args = parser.parse_args()
    global PAGES
    PAGES = (args.pages or ROOT).resolve()
    if args.command == "generate":
        generate(args.names)
    elif args.command == "check":
        check(args.names)
    elif args.command == "links":
        links()
    else:
        list_listings()


if __name__ == "__main__":
    main()
