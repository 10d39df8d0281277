"""What the `coro` TUI window and `coro show` draw: each routine's stack
around its RSP, its context slot, where RSP is, and what changed since the
previous stop, as lines of text (no gdb here).

`read_view` takes a snapshot from plain values (the routines, RSP, a
`memory` as in `stacks`, the switch crate's `Layout`, the trampoline's
continue address, a `symbol(address)` function that names an address and
an `is_code(address)` one, as `stacks.saved_registers` takes); `render` turns one
snapshot, and the one before it, into lines that fit a width. The tests
feed both plain data.

A stack's words are listed as the switch crate's diagrams draw a stack,
higher addresses first: a few from its top side down to its RSP (live, or
saved in its slot), and one word below RSP, where the next push writes and
what the last pop left behind.

    *  slot> top-0x4a8  0x0000000000000000  saved rbx
    ^  ^     ^          ^                   ^
    |  |     |          |                   what the word is
    |  |     |          the word
    |  |     its offset below the top of the stack
    |  RSP> (the live RSP) or slot> (where the context slot points)
    changed since the previous stop
"""

from dataclasses import dataclass

from . import stacks, text

# Words shown per stack: one below its RSP and this many from its RSP up.
WORDS_FROM_RSP = 4
# Below this many columns the window only says how many it needs: the
# mark, offset and word columns and a label long enough to read.
MIN_WIDTH = 64
# What a changed line starts with (the TUI also draws it in reverse video).
CHANGED = "*"


@dataclass(frozen=True)
class Word:
    """A word of a stack and what it means; value None: the top of the
    stack itself, past its last word."""

    address: int
    value: object
    label: str


@dataclass(frozen=True)
class Stack:
    """One routine at one stop: its state, what its slot holds, the RSP its
    words are listed around (None: nothing to list), the words, and a note
    when its stack could not be read."""

    routine: object
    state: str
    saved: int
    sp: object
    words: tuple
    note: str = ""


@dataclass(frozen=True)
class View:
    """Every routine at one stop, and RSP."""

    rsp: int
    where: str
    stacks: tuple


def short(name):
    """A symbol without its module path: `switches::suspend+697` for
    `kernel::roster::switches::suspend+697`."""
    depth, cut = 0, 0
    parts = []
    for i, char in enumerate(name):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if depth == 0 and name.startswith("::", i):
            parts.append(name[cut:i])
            cut = i + 2
    parts.append(name[cut:])
    return "::".join(parts[-2:])


def frame_labels(saved, continues):
    """Labels of the frame a switch left at `saved`: rbx, rbp, and where
    the routine continues (`continues`)."""
    return {
        saved: "saved rbx",
        saved + stacks.WORD: "saved rbp",
        saved + 2 * stacks.WORD: continues,
    }


def label(address, value, routine, known, layout, symbol):
    """What a word means by its place and value alone."""
    if address == routine.bottom:
        if value == layout.canary:
            return "canary (the stack's bottom, intact)"
        if value == layout.finished:
            return "finished mark (the body returned)"
    for other in known:
        if other.holds(value):
            return "-> " + stacks.locate(value, known)
    name = symbol(value)
    if name is not None:
        return "-> " + short(name)
    if value == int.from_bytes(bytes([layout.paint]) * stacks.WORD, "little"):
        return "paint (never written)"
    return ""


def read_stack(routine, rsp, known, memory, layout, trampoline, symbol, is_code):
    """One routine's Stack at a stop where RSP is `rsp`."""
    saved = stacks.saved_rsp(routine, memory, layout)
    what = stacks.state(routine, rsp, memory, layout, trampoline)
    if what == stacks.RUNNING:
        sp = rsp
    elif what == stacks.SUSPENDED or (what == stacks.NOT_STARTED and saved):
        sp = saved
    else:
        return Stack(routine, what, saved, None, ())
    labels = {}
    if routine.number and stacks.word(memory, routine.bottom) in (layout.canary, layout.finished):
        # A stack the switch crate set up: the Yielder stays at its top for
        # as long as the coroutine lives, above the trampoline's frame.
        yielder = layout.fresh_frame - len(stacks.FRAME) * stacks.WORD
        for address in range(routine.top - yielder, routine.top, stacks.WORD):
            labels[address] = "Yielder (the coroutine's own handle)"
    if what == stacks.SUSPENDED:
        registers = stacks.saved_registers(saved, memory, is_code)
        if "rbx" in registers:
            labels.update(frame_labels(saved, "continues at %s" % short(symbol(registers["rip"]) or "?")))
        else:
            # Phase 1's switch saves only RSP, at a return address.
            labels[saved] = "returns to %s" % short(symbol(registers["rip"]) or "?")
    elif what == stacks.NOT_STARTED and saved < routine.top:
        labels.update(frame_labels(saved, "first frame: %s" % (symbol(trampoline) or "?")))
    first = max(routine.bottom, sp - stacks.WORD)
    last = min(routine.top, sp + WORDS_FROM_RSP * stacks.WORD)
    words = []
    for address in range(first, last, stacks.WORD):
        value = stacks.word(memory, address)
        meaning = labels.get(address) or label(address, value, routine, known, layout, symbol)
        words.append(Word(address, value, meaning))
    if sp == routine.top:
        # Nothing pushed yet: RSP points just past the stack.
        words.append(Word(sp, None, "the top: nothing pushed yet"))
    return Stack(routine, what, saved, sp, tuple(words))


def read_view(known, rsp, memory, layout, trampoline, symbol, is_code):
    """Every routine of `known` at a stop where RSP is `rsp`. A stack that
    cannot be read gets a note instead of its words."""
    found = []
    for routine in known:
        try:
            found.append(read_stack(routine, rsp, known, memory, layout, trampoline, symbol, is_code))
        except stacks.Unreadable as error:
            found.append(Stack(routine, "unreadable", 0, None, (), "cannot read its stack: %s" % error))
    return View(rsp, stacks.locate(rsp, known), tuple(found))


def offset(stack, address):
    return "top-%#x" % (stack.routine.top - address)


def fit(line, width):
    return line if len(line) <= width else line[: width - 1] + "~"


def changed_words(before):
    """{address: value} of every word the previous view showed."""
    if before is None:
        return {}
    return {w.address: w.value for s in before.stacks for w in s.words}


def nearest(stack, count):
    """The `count` words of `stack` nearest its RSP, in address order: the
    RSP's own word, the one below it, then upwards."""
    words = stack.words
    at = next((i for i, w in enumerate(words) if w.address == stack.sp), 0)
    order = [at] + ([at - 1] if at > 0 else []) + list(range(at + 1, len(words)))
    return [words[i] for i in sorted(order[:count])]


def words_that_fit(now, height):
    """How many words per stack fit in `height` lines (None: no limit), one
    at least: the most that fits once the title, each routine's two lines
    and its notes are drawn, stacks with fewer words leaving room to the
    others."""
    if height is None:
        return None
    fixed = 1 + sum(2 + (1 if s.note else 0) for s in now.stacks)
    most = max((len(s.words) for s in now.stacks), default=0)
    count = 1
    while count < most and fixed + sum(min(len(s.words), count + 1) for s in now.stacks) <= height:
        count += 1
    return count


def render(now, before, width, height=None):
    """The view as (line, changed) pairs, each line at most `width` wide;
    `before` is the view at the previous stop (None: nothing to compare).
    In `height` lines, each stack shows fewer words, those nearest its RSP;
    `clip` cuts what still does not fit."""
    if width < MIN_WIDTH:
        return [("coro: this window needs %d columns, it has %d" % (MIN_WIDTH, width), False)]
    per_stack = words_that_fit(now, height)
    lines = []

    def add(line, changed):
        lines.append((fit((CHANGED if changed else " ") + line, width), changed))

    moved = before is not None and before.rsp != now.rsp
    where = text.rsp_line(now.rsp, now.where)
    if moved and before.where.split(" ")[0] != now.where.split(" ")[0]:
        where += " (was in %s)" % before.where.split(" ")[0]
    add(where, moved)
    shown = changed_words(before)
    previous = {s.routine.number: s for s in before.stacks} if before is not None else {}
    for stack in now.stacks:
        routine = stack.routine
        old = previous.get(routine.number)
        add("%-11s %-11s %s" % (routine.name, stack.state, routine.stack), old is not None and old.state != stack.state)
        add(
            "  %s=%s  %s" % (routine.slot, text.address(stack.saved), stacks_locate(stack.saved, now)),
            old is not None and old.saved != stack.saved,
        )
        if stack.note:
            add("  " + stack.note, False)
        shown_words = stack.words if per_stack is None else nearest(stack, per_stack)
        for word in reversed(shown_words):
            if word.address == now.rsp:
                mark = "RSP>"
            elif word.address == stack.saved:
                mark = "slot>"
            else:
                mark = ""
            changed = before is not None and (
                shown.get(word.address, word.value) != word.value or (mark == "RSP>") != (word.address == before.rsp)
            )
            value = " " * len(text.address(0)) if word.value is None else text.address(word.value)
            add(" %-5s %-10s %s  %s" % (mark, offset(stack, word.address), value, word.label), changed)
    return lines


def clip(lines, height):
    """At most `height` lines: when some do not fit, the last one says how
    many more there are."""
    if len(lines) <= height:
        return lines
    kept = lines[: max(height - 1, 0)]
    hidden = len(lines) - len(kept)
    return kept + [("(%d more lines below: a taller window shows them)" % hidden, False)][: max(height, 0)]


def stacks_locate(address, view):
    return stacks.locate(address, [s.routine for s in view.stacks])


def plain(lines):
    """The lines as `coro show` prints them."""
    return "\n".join(line.rstrip() for line, _ in lines)
