"""coro.view: what the `coro` window and `coro show` draw, from a memory
made of plain bytes, as in test_stacks."""

import unittest

from coro.view import MIN_WIDTH, clip, plain, read_view, render, short

from .fakes import Memory
from .test_stacks import CODE, CORO, LAYOUT, MAIN, TRAMPOLINE, painted

KNOWN = [MAIN, CORO]
SYMBOLS = {TRAMPOLINE: "coroutine_trampoline+1", 0xFFFF_FFFF_8000_A5B4: "kernel::roster::switches::suspend+697"}
SUSPENDED_AT = 0x6CB8


def symbol(address):
    return SYMBOLS.get(address)


def kernel(coro_slot, main_slot=0, stack=None):
    """A memory with both slots, coroutine1's stack and main's."""
    memory = Memory()
    memory.write(0x9000, main_slot.to_bytes(8, "little") + coro_slot.to_bytes(8, "little"))
    memory.write(CORO.bottom, painted() if stack is None else stack)
    memory.write(MAIN.bottom, bytes(MAIN.top - MAIN.bottom))
    return memory


def suspended_stack():
    """coroutine1 suspended at SUSPENDED_AT: rbx=1, rbp=0x6D00, continues in suspend."""
    stack = painted()
    at = SUSPENDED_AT - CORO.bottom
    stack[at : at + 24] = (1).to_bytes(8, "little") + (0x6D00).to_bytes(8, "little") + (0xFFFF_FFFF_8000_A5B4).to_bytes(8, "little")
    return stack


def view(memory, rsp):
    return read_view(KNOWN, rsp, memory, LAYOUT, TRAMPOLINE, symbol, CODE.__contains__)


def line(text, needle):
    """The first line of `text` that holds `needle`."""
    found = [line for line in text.splitlines() if needle in line]
    if not found:
        raise AssertionError("no %r in:\n%s" % (needle, text))
    return found[0]


def row(text, offset):
    """The line of `text` for the word at `offset` below the stack's top."""
    return line(text, " %s " % offset)


class Words(unittest.TestCase):
    def test_a_suspended_coroutine_shows_the_frame_its_slot_points_at(self):
        shown = plain(render(view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FF00), None, 80))
        self.assertIn("coroutine1  suspended   coroutine1_stack", shown)
        self.assertIn("coro1_context=0x0000000000006cb8  coroutine1_stack top-0x348", shown)
        self.assertIn("slot> top-0x348  0x0000000000000001  saved rbx", row(shown, "top-0x348"))
        self.assertIn("saved rbp", row(shown, "top-0x340"))
        self.assertIn("continues at switches::suspend+697", row(shown, "top-0x338"))
        # One word below the saved RSP, none of the stack's other words.
        self.assertIn("top-0x350", shown)
        self.assertNotIn("top-0x358", shown)

    def test_a_fresh_coroutine_shows_the_trampolines_first_frame_and_the_yielder(self):
        shown = plain(render(view(kernel(CORO.top - LAYOUT.fresh_frame), 0x1_FF00), None, 80))
        self.assertIn("coroutine1  not started", shown)
        self.assertIn("saved rbx", row(shown, "top-0x38"))
        self.assertIn("first frame: coroutine_trampoline+1", row(shown, "top-0x28"))
        self.assertIn("Yielder", row(shown, "top-0x20"))
        self.assertIn("paint (never written)", row(shown, "top-0x40"))

    def test_the_yielder_is_named_while_the_trampoline_runs(self):
        # RSP at top - 32, on the Yielder: the trampoline's first instruction.
        shown = plain(render(view(kernel(0, stack=painted()), CORO.top - 32), None, 80))
        self.assertIn("Yielder", row(shown, "top-0x20"))
        self.assertIn("Yielder", row(shown, "top-0x8"))
        self.assertNotIn("Yielder", row(shown, "top-0x28"))

    def test_an_unpainted_stack_has_no_yielder(self):
        shown = plain(render(view(kernel(0, stack=bytearray(4096)), CORO.top - 32), None, 80))
        self.assertNotIn("Yielder", shown)

    def test_the_live_rsp_is_marked_in_the_running_routines_stack(self):
        shown = plain(render(view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FEC8), None, 80))
        self.assertIn("RSP=0x000000000001fec8 (main_stack top-0x138)", shown.splitlines()[0])
        self.assertIn("main        running", shown)
        self.assertTrue(row(shown, "top-0x138").lstrip(" *").startswith("RSP>"), shown)

    def test_rsp_at_the_very_top_of_a_stack_is_marked_there(self):
        shown = plain(render(view(kernel(CORO.top, stack=bytearray(4096)), CORO.top), None, 80))
        self.assertIn("RSP>  top-0x0", shown)
        self.assertIn("nothing pushed yet", shown)

    def test_the_canary_is_named_when_the_bottom_is_in_view(self):
        shown = plain(render(view(kernel(CORO.bottom + 8), CORO.bottom + 8), None, 80))
        self.assertIn("canary", row(shown, "top-0x1000"))

    def test_a_stack_that_cannot_be_read_gets_one_line(self):
        memory = Memory()
        memory.write(0x9000, bytes(8) + SUSPENDED_AT.to_bytes(8, "little"))
        shown = plain(render(view(memory, 0x1_FF00), None, 80))
        self.assertIn("cannot read its stack: cannot access memory at", shown)


class Changes(unittest.TestCase):
    def test_nothing_is_marked_at_the_first_stop(self):
        lines = render(view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FEC8), None, 80)
        self.assertFalse(any(changed for _, changed in lines))
        self.assertFalse(any(line.startswith("*") for line, _ in lines))

    def test_rsp_moving_to_another_stack_and_a_slot_written_are_marked(self):
        # switch_to_coro1: mov [main_context], rsp; mov rsp, [coro1_context]
        before = view(kernel(CORO.top, main_slot=0, stack=bytearray(4096)), 0x1_FEC8)
        after = view(kernel(CORO.top, main_slot=0x1_FEC8, stack=bytearray(4096)), CORO.top)
        shown = plain(render(after, before, 80))
        lines = shown.splitlines()
        self.assertTrue(lines[0].startswith("*RSP=0x0000000000007000 (coroutine1_stack top-0x0) (was in main_stack)"), shown)
        self.assertTrue(line(shown, "main_context=").startswith("*"), shown)
        self.assertIn("*main        suspended", shown)
        self.assertIn("*coroutine1  running", shown)
        self.assertTrue(row(shown, "top-0x0").startswith("* RSP>"), shown)
        # main's old RSP is now where its slot points, and lost its mark.
        self.assertTrue(row(shown, "top-0x138").startswith("* slot>"), shown)
        self.assertFalse(line(shown, "coro1_context=").startswith("*"), shown)

    def test_a_word_pushed_is_marked(self):
        stack = suspended_stack()
        before = view(kernel(SUSPENDED_AT, stack=stack), 0x6E00)
        stack[0x6DF8 - CORO.bottom : 0x6E00 - CORO.bottom] = (0x1234).to_bytes(8, "little")
        after = view(kernel(SUSPENDED_AT, stack=stack), 0x6DF8)
        shown = plain(render(after, before, 80))
        self.assertTrue(row(shown, "top-0x208").startswith("* RSP>"), shown)
        self.assertIn("0x0000000000001234", row(shown, "top-0x208"))
        self.assertTrue(row(shown, "top-0x200").startswith("*"), "RSP left it: %s" % shown)
        self.assertFalse(row(shown, "top-0x1f8").startswith("*"), shown)


class Width(unittest.TestCase):
    def test_every_line_fits_80_columns(self):
        long_names = dict(SYMBOLS)
        long_names[0xFFFF_FFFF_8000_A5B4] = "kernel::roster::switches::Coroutines::resume_with_a_very_long_name+697"
        shown = render(
            read_view(KNOWN, 0x1_FF00, kernel(SUSPENDED_AT, stack=suspended_stack()), LAYOUT, TRAMPOLINE, long_names.get, CODE.__contains__),
            None,
            80,
        )
        self.assertTrue(all(len(line) <= 80 for line, _ in shown))
        self.assertTrue(any(line.endswith("~") for line, _ in shown), "a long label is cut, and says so")

    def test_a_narrower_window_says_how_wide_it_needs_to_be(self):
        shown = render(view(kernel(SUSPENDED_AT), 0x1_FF00), None, MIN_WIDTH - 1)
        self.assertEqual(shown, [("coro: this window needs %d columns, it has %d" % (MIN_WIDTH, MIN_WIDTH - 1), False)])


class Height(unittest.TestCase):
    def test_a_short_window_keeps_the_words_nearest_each_rsp(self):
        now = view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FEC8)
        # Title, two routines of two lines each, two words each.
        shown = plain(render(now, None, 80, 1 + 2 * (2 + 2)))
        self.assertEqual(len(shown.splitlines()), 9, shown)
        # main: its RSP's word and the one below; coroutine1: the saved rbx
        # its slot points at and the word below.
        self.assertIn("RSP>  top-0x138", shown)
        self.assertIn("top-0x140", shown)
        self.assertIn("slot> top-0x348", shown)
        self.assertIn("top-0x350", shown)
        self.assertNotIn("saved rbp", shown)

    def test_a_stack_with_few_words_leaves_its_room_to_the_others(self):
        # coroutine1 at its top shows two lines: main gets the rest.
        now = view(kernel(CORO.top, stack=bytearray(4096)), 0x1_FEC8)
        shown = plain(render(now, None, 80, 1 + 2 * 2 + 5 + 2))
        self.assertEqual(len(shown.splitlines()), 12, shown)
        for offset in ("top-0x120", "top-0x138", "top-0x140"):
            self.assertIn(offset, shown)

    def test_one_word_each_at_least(self):
        now = view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FEC8)
        shown = plain(render(now, None, 80, 3))
        self.assertIn("RSP>  top-0x138", shown)
        self.assertIn("slot> top-0x348", shown)
        self.assertNotIn("top-0x140", shown)


class Clip(unittest.TestCase):
    def test_lines_that_do_not_fit_are_counted_on_the_last_line(self):
        lines = render(view(kernel(SUSPENDED_AT, stack=suspended_stack()), 0x1_FF00), None, 80)
        clipped = clip(lines, 5)
        self.assertEqual(len(clipped), 5)
        self.assertEqual(clipped[:4], lines[:4])
        self.assertEqual(clipped[4], ("(%d more lines below: a taller window shows them)" % (len(lines) - 4), False))
        self.assertEqual(clip(lines, len(lines)), lines)


class Short(unittest.TestCase):
    def test_keeps_the_last_two_parts_of_a_path(self):
        self.assertEqual(short("kernel::roster::switches::suspend+697"), "switches::suspend+697")
        self.assertEqual(short("coroutine_trampoline+1"), "coroutine_trampoline+1")

    def test_generic_arguments_are_not_split(self):
        self.assertEqual(
            short("coroutine_switch::Coroutine<kernel::Four>::resume<4096>+21"),
            "Coroutine<kernel::Four>::resume<4096>+21",
        )


if __name__ == "__main__":
    unittest.main()
