"""coro.roster reads the kernel's roster view, given as plain data shaped
like kernel/src/roster.rs's GdbView, Roster, Member and Named."""

import unittest

from coro.roster import Routine, RosterError, read_roster, rust_str

from .fakes import NULL, Pointer, Struct, named, rust_str as fake_str

STACK_SIZE = 4096


def coroutine(name, stack_symbol, stack_bottom, slot_symbol, slot_address):
    # A GuardedStack: a guard page, then the stack part the roster reports.
    part = Struct(address=stack_bottom, sizeof=STACK_SIZE)
    guarded = Struct({"stack": part})
    stack = named(Pointer([guarded], stack_bottom - 4096), stack_symbol)
    slot = named(Pointer([None], slot_address), slot_symbol)
    return Struct(
        {
            "name": fake_str(name),
            "stack": Pointer([stack], 0x1000),
            "slot": Pointer([slot], 0x2000),
        }
    )


def view(members, main_slot_address=0xFFFF_FFFF_8001_9000):
    main_slot = named(Pointer([None], main_slot_address), "main_context")
    roster = Struct(
        {
            "main_slot": Pointer([main_slot], 0x3000),
            "coroutines": Struct({"data_ptr": Pointer(members, 0x4000), "length": len(members)}),
        }
    )
    return Struct(
        {
            "roster": Pointer([roster], 0x5000),
            "main_bottom": 0x100_0000_0000,
            "main_top": 0x100_0001_0000,
        }
    )


class ReadRoster(unittest.TestCase):
    def test_main_then_each_coroutine_in_roster_order(self):
        members = [
            coroutine("coroutine1", "coroutine1_stack", 0xFFFF_FFFF_8001_6000, "coro1_context", 0xFFFF_FFFF_8001_4000),
            coroutine("coroutine2", "coroutine2_stack", 0xFFFF_FFFF_8001_8000, "coro2_context", 0xFFFF_FFFF_8001_4008),
        ]
        found = read_roster(view(members), "main_stack")
        self.assertEqual(
            found,
            [
                Routine(0, "main", "main_stack", 0x100_0000_0000, 0x100_0001_0000, "main_context", 0xFFFF_FFFF_8001_9000),
                Routine(
                    1,
                    "coroutine1",
                    "coroutine1_stack",
                    0xFFFF_FFFF_8001_6000,
                    0xFFFF_FFFF_8001_7000,
                    "coro1_context",
                    0xFFFF_FFFF_8001_4000,
                ),
                Routine(
                    2,
                    "coroutine2",
                    "coroutine2_stack",
                    0xFFFF_FFFF_8001_8000,
                    0xFFFF_FFFF_8001_9000,
                    "coro2_context",
                    0xFFFF_FFFF_8001_4008,
                ),
            ],
        )

    def test_main_stack_name_is_the_one_given(self):
        found = read_roster(view([]), "boot_stack")
        self.assertEqual([(r.number, r.name, r.stack) for r in found], [(0, "main", "boot_stack")])

    def test_eight_coroutines_are_numbered_one_to_eight(self):
        members = [
            coroutine("coroutine%d" % i, "coroutine%d_stack" % i, 0x10_0000 + 0x2000 * i, "coro%d_context" % i, 0x8000 + 8 * i)
            for i in range(1, 9)
        ]
        found = read_roster(view(members), "main_stack")
        self.assertEqual([r.number for r in found], list(range(9)))
        self.assertEqual(found[8].name, "coroutine8")
        self.assertEqual(found[8].top - found[8].bottom, STACK_SIZE)

    def test_a_null_roster_is_an_error_that_says_what_to_do(self):
        empty = Struct({"roster": NULL, "main_bottom": 0, "main_top": 0})
        with self.assertRaises(RosterError) as raised:
            read_roster(empty, "main_stack")
        self.assertIn("`coro goto N` or `continue` to the first switch", str(raised.exception))


class RustStr(unittest.TestCase):
    def test_reads_length_bytes(self):
        value = Struct({"data_ptr": fake_str("coroutine1 and more")["data_ptr"], "length": 10})
        self.assertEqual(rust_str(value), "coroutine1")

    def test_an_empty_str_is_not_read(self):
        self.assertEqual(rust_str(Struct({"data_ptr": NULL, "length": 0})), "")


class Holds(unittest.TestCase):
    def test_bottom_and_top_are_inside(self):
        routine = Routine(1, "c", "s", 0x1000, 0x2000, "slot", 0)
        self.assertTrue(routine.holds(0x1000))
        self.assertTrue(routine.holds(0x2000))
        self.assertFalse(routine.holds(0xFFF))
        self.assertFalse(routine.holds(0x2001))


if __name__ == "__main__":
    unittest.main()
