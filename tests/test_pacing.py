"""The throttle's fairness, on a fake clock: the overall rate's slots go first come, first served.

A chat that had to wait (a second notice inside its chat's spacing, a group whose window was
full, or simply no free slot) must not lose its turn to chats that asked after it, or a backlog
of new chats starves it and the waiting chats form a tail that spoils the rate. The last test
drains a backlog through the real `Throttle` the way the outbox dispatcher drives it (one sender
per chat, asking again when told) in simulated time, with the waiting chats always asking last
at any moment, which is how they starved.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import pytest

from bot.pacing import ABSENT, LATE, SELF_PRUNE, SendLimits, Throttle

GROUP = -1001000000003
A, B, C, D = 10001, 10002, 10003, 10004


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def send(throttle: Throttle, chat: int) -> None:
    assert throttle.wait(chat) == 0.0
    throttle.begin(chat)
    throttle.end(chat)


def test_a_chat_that_waited_for_a_slot_goes_before_one_that_asked_later() -> None:
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=1, chat_interval=1.0), clock)
    send(throttle, A)
    assert throttle.wait(B) == pytest.approx(1.0)  # the one slot is taken: B is first in line
    clock.now += 1.0
    # The slot is free again; C asks before B comes back, and leaves it to B.
    assert throttle.wait(C) == pytest.approx(1.0)
    send(throttle, B)
    assert throttle.wait(C) == pytest.approx(1.0)  # now C is first in line, for the next slot
    clock.now += 1.0
    send(throttle, C)


def test_a_chat_held_by_its_own_limits_keeps_its_place_and_holds_up_no_one() -> None:
    clock = FakeClock()
    limits = SendLimits(per_second=2, chat_interval=1.0, group_per_window=1, group_window=3.0)
    throttle = Throttle(limits, clock)
    send(throttle, A)
    assert throttle.wait(A) == pytest.approx(1.0)  # A's next notice: its chat's spacing
    send(throttle, GROUP)
    assert throttle.wait(GROUP) == pytest.approx(3.0)  # the group's window is full
    clock.now += 0.5
    assert throttle.wait(B) == pytest.approx(0.5)  # both slots are taken until 101.0
    clock.now += 0.5
    # A's spacing is over and it asked before B and C: of the two slots free now, one is A's and
    # the other B's; C, last in line, waits for the next one.
    assert throttle.wait(C) == pytest.approx(1.0)
    send(throttle, B)
    send(throttle, A)
    assert throttle.wait(C) == pytest.approx(1.0)
    clock.now += 1.0
    # The group is still held by its window: C does not wait for it.
    send(throttle, C)
    clock.now += 1.0
    # The group's window is open again: of the two free slots, the group (first in line) has one
    # and D the other.
    assert throttle.wait(D) == 0.0
    send(throttle, GROUP)


def test_a_late_chat_holds_a_free_slot_only_briefly_and_keeps_its_place() -> None:
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=1, chat_interval=1.0), clock)
    send(throttle, A)  # at 100.0
    assert throttle.wait(B) == pytest.approx(1.0)
    clock.now = 101.0
    assert throttle.wait(C) == pytest.approx(1.0)  # the free slot is B's: B is due now
    # B is late (its sender's event loop is busy): after LATE, D may use the slot no one takes.
    clock.now = 101.0 + 2 * LATE
    send(throttle, D)
    clock.now = 101.0 + 3 * LATE
    assert throttle.wait(B) == pytest.approx(1.0 - LATE)  # the next slot: D's, a second after it
    clock.now = 102.0
    assert throttle.wait(C) > 0  # B is still ahead of C
    clock.now = 102.0 + 2 * LATE
    send(throttle, B)


def test_a_chat_that_stops_asking_is_forgotten_and_may_come_back() -> None:
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=1, chat_interval=1.0), clock)
    send(throttle, A)
    assert throttle.wait(B) == pytest.approx(1.0)  # and B's sender never asks again
    clock.now += 1.0 + ABSENT + 0.5
    throttle.prune()
    assert throttle.wait(C) == 0.0
    assert throttle.wait(B) == 0.0  # both may go: a slot is free and no one is in line


def test_replies_take_the_budget_first_and_the_outbox_sends_in_what_they_leave() -> None:
    clock = FakeClock()
    limits = SendLimits(per_second=2, chat_interval=1.0, group_per_window=2, group_window=10.0)
    throttle = Throttle(limits, clock)
    for chat in (B, C, D):  # three replies within 0.4 s: one past the overall rate
        throttle.record(chat)
        clock.now += 0.2
    # The outbox waits until the window holds fewer than two sends: till the first two are
    # forgotten, a second after the second reply (at 100.2).
    assert throttle.wait(A) == pytest.approx(0.6)
    clock.now = 100.8
    throttle.record(C + 10)  # another reply meanwhile: now the third must go too (at 101.4)
    assert throttle.wait(A) == pytest.approx(0.6)
    clock.now = 101.4
    send(throttle, A)
    # A reply to a chat starts that chat's spacing for the outbox, and one to a group counts in
    # the group's window.
    throttle.record(C)
    assert throttle.wait(C) == pytest.approx(1.0)
    throttle.record(GROUP)
    throttle.record(GROUP)
    clock.now += 1.0
    assert throttle.wait(GROUP) == pytest.approx(9.0)


def test_replies_alone_do_not_make_the_throttle_grow() -> None:
    """A process that does not send the outbox records its replies but never prunes: the
    throttle forgets the chats whose limits no longer matter on its own."""
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=25, chat_interval=1.0, group_window=5.0), clock)
    for i in range(3000):  # 25 replies a second for two minutes, each to a new chat
        throttle.record(A + i if i % 10 else GROUP - i)
        clock.now += 0.04
    assert throttle.chats() <= (SELF_PRUNE + 5.0) * 25


def test_a_reply_to_a_chat_waiting_in_line_leaves_it_its_place() -> None:
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=1, chat_interval=0.5), clock)
    send(throttle, A)
    assert throttle.wait(B) == pytest.approx(1.0)  # B's notice is first in line
    clock.now += 0.5
    throttle.record(C)  # replies to C and to B: the window is full until 101.5
    throttle.record(B)
    clock.now += 0.5
    assert throttle.wait(B) == pytest.approx(0.5)
    assert throttle.wait(D) > 0  # B is ahead of D
    clock.now += 0.5
    assert throttle.wait(D) > 0  # the slot free now is B's
    send(throttle, B)


# -- a backlog drained as the dispatcher drains it --------------------------------------------


@dataclass
class Chat:
    chat_id: int
    rows: int
    starts: list[float] = field(default_factory=list)


# At any moment: sends that end first, then chats starting their first send, then chats asking
# again after a wait, the group last (the order in which the starved chats lost every round).
END, NEW, AGAIN, GROUP_AGAIN = range(4)
LATENCY = 1 / 64  # how long a send takes


def drain(throttle: Throttle, clock: FakeClock, chats: list[Chat], senders: int) -> None:
    """Send every chat's rows through `throttle`, at most `senders` chats at a time; each send
    takes `LATENCY`. Times are multiples of 1/64 s, exact in binary, so the run is exact too."""
    backlog = iter(chats)
    events: list[tuple[float, int, int, Chat]] = []
    order = itertools.count()

    def at(when: float, rank: int, chat: Chat) -> None:
        heapq.heappush(events, (when, rank, next(order), chat))

    for chat in itertools.islice(backlog, senders):
        at(clock.now, NEW, chat)
    for _ in range(100_000):
        if not events:
            return
        clock.now, rank, _, chat = heapq.heappop(events)
        if rank == END:
            throttle.end(chat.chat_id)
            if len(chat.starts) < chat.rows:
                at(clock.now, AGAIN, chat)  # the chat's worker asks for its next row at once
            elif (new := next(backlog, None)) is not None:
                at(clock.now, NEW, new)  # its rows are done: the feeder claims another chat
            continue
        wait = throttle.wait(chat.chat_id)
        if wait > 0:
            at(clock.now + wait, GROUP_AGAIN if chat.chat_id < 0 else AGAIN, chat)
            continue
        throttle.begin(chat.chat_id)
        chat.starts.append(clock.now)
        at(clock.now + LATENCY, END, chat)
    raise AssertionError("the backlog never drained")


def test_a_backlog_drains_at_the_full_rate_first_to_last_and_no_chat_waits_out_its_turn() -> None:
    clock = FakeClock()
    limits = SendLimits(per_second=4, chat_interval=1.0, group_per_window=3, group_window=8.0)
    throttle = Throttle(limits, clock)
    group = Chat(GROUP, rows=9)  # three windows' worth
    people = [Chat(20000 + n, rows=2) for n in range(40)]  # each with a second notice
    senders = 8  # two seconds' worth, as the dispatcher holds
    drain(throttle, clock, [group, *people], senders)

    starts = sorted(t for chat in (group, *people) for t in chat.starts)
    assert len(starts) == 89
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate >= 0.95 * limits.per_second
    # Never more than per_second sends in any second (the window counts each send until a second
    # after it ended, so starts are even further apart).
    for first, last in zip(starts, starts[4:], strict=False):
        assert last - first >= 1.0
    # Each send goes once its chat's own limits allow it (the spacing after the chat's last
    # send ended, and for the group its window), and then, first come first served, after at
    # most the chats ahead of it in line: fewer than `senders`, at per_second.
    for chat in (group, *people):
        ends = [start + LATENCY for start in chat.starts]
        for i, start in enumerate(chat.starts[1:], 1):
            allowed = ends[i - 1] + limits.chat_interval
            if chat is group and i >= limits.group_per_window:
                allowed = max(allowed, ends[i - limits.group_per_window] + limits.group_window)
            assert allowed <= start <= allowed + senders / limits.per_second
