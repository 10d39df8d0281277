"""coro.text: the lines the commands print, which the gdb session tests
and the book's transcripts read."""

import unittest

from coro.roster import Routine
from coro.text import arrival_line, kind_word, list_line, regs_line, rsp_line, slots_line, step_line, symbol_in

CORO = Routine(1, "coroutine1", "coroutine1_stack", 0x6000, 0x7000, "coro1_context", 0x9008)
MAIN = Routine(0, "main", "main_stack", 0x1_0000, 0x2_0000, "main_context", 0x9000)


class Lines(unittest.TestCase):
    def test_rsp_line_has_sixteen_digits_and_the_place(self):
        self.assertEqual(rsp_line(0x10B68, "main_stack top-0x498"), "RSP=0x0000000000010b68 (main_stack top-0x498)")

    def test_slots_line(self):
        self.assertEqual(
            slots_line([("main_context", 0, "empty"), ("coro1_context", 0x6FC8, "coroutine1_stack top-0x38")]),
            "main_context=0x0000000000000000 (empty) coro1_context=0x0000000000006fc8 (coroutine1_stack top-0x38)",
        )

    def test_list_lines_align_their_columns(self):
        self.assertEqual(list_line(MAIN, "running", 0), "0 main       running     main_context=0x0000000000000000")
        self.assertEqual(
            list_line(CORO, "not started", 0x6FC8, 56),
            "1 coroutine1 not started coro1_context=0x0000000000006fc8 stack used 56 of 4096 bytes",
        )

    def test_a_stack_reused_after_the_summary_gives_both_figures(self):
        self.assertEqual(
            list_line(CORO, "finished", 0, 184, 2000),
            "1 coroutine1 finished    coro1_context=0x0000000000000000 stack used 184 of 4096 bytes by the code "
            "that reused it after the kernel's summary; coroutine1's own high-water mark, 2000 bytes, as the summary reported",
        )
        # Before the summary (0), or when the figures agree: one figure.
        self.assertTrue(list_line(CORO, "suspended", 0, 184, 0).endswith("stack used 184 of 4096 bytes"))
        self.assertTrue(list_line(CORO, "finished", 0, 2000, 2000).endswith("stack used 2000 of 4096 bytes"))

    def test_arrival_line_names_both_sides(self):
        self.assertEqual(
            arrival_line(
                9, "resume", "main", "coroutine1", "kernel::roster::switches::arrived", "kernel::roster::switches::suspend"
            ),
            "switch #9 (resume): main -> coroutine1; stopped on coroutine1's side, "
            "in kernel::roster::switches::arrived called from kernel::roster::switches::suspend",
        )

    def test_kind_word_is_the_event_lines_word(self):
        self.assertEqual(kind_word("protocol::event::Kind::Resume"), "resume")
        self.assertEqual(kind_word("Call"), "call")

    def test_regs_line(self):
        self.assertEqual(regs_line([("rbx", 0), ("rsp", 0x10B58)]), "regs rbx=0x0 rsp=0x10b58")

    def test_step_line_pads_the_instruction(self):
        self.assertEqual(
            step_line("push   rbp", 0x10B60, "main_stack top-0x4a0"),
            "  push   rbp               -> RSP=0x0000000000010b60 (main_stack top-0x4a0)",
        )


class SymbolIn(unittest.TestCase):
    def test_a_function_entry_and_an_offset_into_it(self):
        self.assertEqual(symbol_in("0xffffffff8000ea48 <coroutine_trampoline>"), "coroutine_trampoline")
        self.assertEqual(symbol_in("0xffffffff8000ea4b <coroutine_trampoline+3>"), "coroutine_trampoline")

    def test_generic_rust_names_keep_their_angle_brackets(self):
        self.assertEqual(
            symbol_in("0xffffffff80009625 <coroutine_switch::Coroutine<4096>::resume<4096>+21>"),
            "coroutine_switch::Coroutine<4096>::resume<4096>",
        )

    def test_no_symbol(self):
        self.assertIsNone(symbol_in("0x1234"))


if __name__ == "__main__":
    unittest.main()
