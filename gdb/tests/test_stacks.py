"""coro.stacks: locations, stack use, states and saved frames, on a memory
made of plain bytes and a layout like the switch crate's."""

import unittest

from coro.roster import Routine
from coro.stacks import Layout, is_fresh, locate, saved_registers, saved_rsp, stack_used, state

from .fakes import Memory

TOMBSTONE = 0xFFFF_FFFF_8002_0000
LAYOUT = Layout(
    paint=0xCD,
    canary=0xFFFF_FFFF_DEAD_C0DE,
    finished=0xFFFF_FFFF_F1E1_5EED,
    fresh_frame=32 + 3 * 8,
    trampoline_entry=1,
    tombstone=TOMBSTONE,
)
TRAMPOLINE = 0xFFFF_FFFF_8000_E880
CODE = {TRAMPOLINE, 0xFFFF_FFFF_8000_A5B4}

MAIN = Routine(0, "main", "main_stack", 0x1_0000, 0x2_0000, "main_context", 0x9000)
CORO = Routine(1, "coroutine1", "coroutine1_stack", 0x6000, 0x7000, "coro1_context", 0x9008)


def memory_with(stack=None, main_slot=0, coro_slot=0):
    memory = Memory()
    memory.write(0x9000, main_slot.to_bytes(8, "little") + coro_slot.to_bytes(8, "little"))
    if stack is not None:
        memory.write(CORO.bottom, stack)
    return memory


def painted():
    """A stack as Coroutine::new leaves it: canary, paint, first frame."""
    size = CORO.top - CORO.bottom
    stack = bytearray([LAYOUT.paint]) * size
    stack[:8] = LAYOUT.canary.to_bytes(8, "little")
    frame = size - LAYOUT.fresh_frame
    stack[frame : frame + 24] = bytes(16) + TRAMPOLINE.to_bytes(8, "little")
    stack[frame + 24 :] = bytes(32)
    return stack


class Locate(unittest.TestCase):
    def test_offsets_below_the_top_of_the_stack_that_holds_the_address(self):
        self.assertEqual(locate(0x6FC8, [MAIN, CORO]), "coroutine1_stack top-0x38")
        self.assertEqual(locate(0x1FB68, [MAIN, CORO]), "main_stack top-0x498")

    def test_the_top_itself_is_top_0(self):
        self.assertEqual(locate(0x7000, [MAIN, CORO]), "coroutine1_stack top-0x0")

    def test_an_empty_slot_and_a_stray_address(self):
        self.assertEqual(locate(0, [MAIN, CORO]), "empty")
        self.assertEqual(locate(0x5FFF, [MAIN, CORO]), "outside every stack")


class StackUsed(unittest.TestCase):
    def test_a_fresh_painted_stack_has_used_its_first_frame(self):
        self.assertEqual(stack_used(CORO, memory_with(painted()), LAYOUT), LAYOUT.fresh_frame)

    def test_counts_down_to_the_deepest_byte_not_paint(self):
        stack = painted()
        stack[4096 - 1488] = 0
        self.assertEqual(stack_used(CORO, memory_with(stack), LAYOUT), 1488)

    def test_the_paint_and_canary_are_the_layouts(self):
        other = Layout(paint=0xAA, canary=1, finished=2, fresh_frame=56, trampoline_entry=1, tombstone=TOMBSTONE)
        stack = bytearray([0xAA]) * 4096
        stack[:8] = (1).to_bytes(8, "little")
        stack[-100:] = bytes(100)
        self.assertEqual(stack_used(CORO, memory_with(stack), other), 100)
        # Under the switch crate's own layout that stack is not painted.
        self.assertEqual(stack_used(CORO, memory_with(stack), LAYOUT), 4096)

    def test_a_finished_coroutines_stack_is_still_painted(self):
        # The body returned: the word that replaces the canary says so.
        stack = painted()
        stack[:8] = LAYOUT.finished.to_bytes(8, "little")
        stack[4096 - 1488] = 0
        self.assertEqual(stack_used(CORO, memory_with(stack), LAYOUT), 1488)

    def test_an_unpainted_stack_counts_non_zero_bytes_as_phase_1_does(self):
        stack = bytearray(4096)
        stack[-0x58] = 1
        self.assertEqual(stack_used(CORO, memory_with(stack), LAYOUT), 0x58)
        self.assertEqual(stack_used(CORO, memory_with(bytearray(4096)), LAYOUT), 0)


class State(unittest.TestCase):
    def test_the_routine_whose_stack_holds_rsp_runs(self):
        memory = memory_with(painted(), main_slot=0x1_F000)
        self.assertEqual(state(CORO, 0x6F00, memory, LAYOUT, TRAMPOLINE), "running")
        self.assertEqual(state(MAIN, 0x6F00, memory, LAYOUT, TRAMPOLINE), "suspended")

    def test_main_has_not_started_while_its_slot_is_empty(self):
        memory = memory_with(painted())
        self.assertEqual(state(MAIN, 0x6F00, memory, LAYOUT, TRAMPOLINE), "not started")

    def test_a_coroutine_on_its_first_frame_has_not_started(self):
        memory = memory_with(painted(), coro_slot=CORO.top - LAYOUT.fresh_frame)
        self.assertTrue(is_fresh(CORO, CORO.top - LAYOUT.fresh_frame, memory, LAYOUT, TRAMPOLINE))
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "not started")

    def test_phase_1_slot_at_the_top_has_not_started(self):
        memory = memory_with(bytearray(4096), coro_slot=CORO.top)
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "not started")

    def test_a_first_frame_that_does_not_continue_at_the_trampoline_is_suspended(self):
        memory = memory_with(painted(), coro_slot=CORO.top - LAYOUT.fresh_frame)
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE + 1), "suspended")

    def test_a_coroutine_saved_deeper_is_suspended(self):
        memory = memory_with(painted(), coro_slot=0x6CB8)
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "suspended")

    def test_an_emptied_slot_over_a_used_stack_is_finished(self):
        stack = painted()
        stack[100] = 0
        memory = memory_with(stack)
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "finished")

    def test_a_slot_at_the_tombstone_is_finished_and_reads_as_empty(self):
        stack = painted()
        stack[100] = 0
        memory = memory_with(stack, coro_slot=TOMBSTONE)
        self.assertEqual(saved_rsp(CORO, memory, LAYOUT), 0)
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "finished")

    def test_a_slot_elsewhere_reads_as_it_is(self):
        memory = memory_with(painted(), coro_slot=0x6CB8)
        self.assertEqual(saved_rsp(CORO, memory, LAYOUT), 0x6CB8)

    def test_an_empty_slot_over_an_untouched_stack_has_not_started(self):
        memory = memory_with(bytearray(4096))
        self.assertEqual(state(CORO, 0x1_F000, memory, LAYOUT, TRAMPOLINE), "not started")


class SavedRegisters(unittest.TestCase):
    def test_a_switch_frame_loads_rbx_rbp_and_continues_above_it(self):
        memory = Memory()
        memory.write(0x6CB8, (7).to_bytes(8, "little") + (0x6D00).to_bytes(8, "little") + (0xFFFF_FFFF_8000_A5B4).to_bytes(8, "little"))
        self.assertEqual(
            saved_registers(0x6CB8, memory, CODE.__contains__),
            {"rbx": 7, "rbp": 0x6D00, "rip": 0xFFFF_FFFF_8000_A5B4, "rsp": 0x6CD0},
        )

    def test_phase_1_saves_only_a_return_address(self):
        memory = Memory()
        memory.write(0x1_FEC8, (0xFFFF_FFFF_8000_A5B4).to_bytes(8, "little") + bytes(16))
        self.assertEqual(
            saved_registers(0x1_FEC8, memory, CODE.__contains__),
            {"rip": 0xFFFF_FFFF_8000_A5B4, "rsp": 0x1_FED0},
        )


if __name__ == "__main__":
    unittest.main()
