"""coro.switches: which way `coro goto N` goes."""

import unittest

from coro.switches import BACKWARD, FORWARD, HERE, direction, position


class Direction(unittest.TestCase):
    def test_at_an_arrival_the_arriving_switch_counts(self):
        # At the entry of arrived for switch #5: ARRIVED still says 4.
        self.assertEqual(position(5, 4, True), 5)
        self.assertEqual(direction(5, 5, 4, True), HERE)
        self.assertEqual(direction(6, 5, 4, True), FORWARD)
        self.assertEqual(direction(4, 5, 4, True), BACKWARD)

    def test_a_counted_switch_not_yet_made_is_ahead(self):
        # main counted #5 and is logging it, still before the switch.
        self.assertEqual(position(5, 4, False), 4)
        self.assertEqual(direction(5, 5, 4, False), FORWARD)

    def test_an_arrived_switch_left_behind_is_behind(self):
        # After arrived(#5) returned: to stop there again, go back.
        self.assertEqual(direction(5, 5, 5, False), BACKWARD)
        self.assertEqual(direction(6, 5, 5, False), FORWARD)

    def test_before_the_first_switch(self):
        self.assertEqual(direction(1, 0, 0, False), FORWARD)


if __name__ == "__main__":
    unittest.main()
