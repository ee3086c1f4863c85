"""The X-Ray request pacer, on a clock the tests move by hand (nothing here is timed)."""

from __future__ import annotations

import math

import pytest

from leastpriv_ci.traces.pacing import (
    CUT,
    SLOW_START_STEP,
    STEP,
    WINDOW,
    Pacer,
    Ticket,
)


class Clock:
    """A clock that moves only when the pacer sleeps or a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(rate: float = 10.0) -> tuple[Pacer, Clock]:
    clock = Clock()
    return Pacer(rate, clock=clock, sleep=clock.sleep), clock


def held_back(pacer: Pacer) -> Ticket:
    """A ticket for a request paced at the current rate, that had to wait for its turn."""
    return Ticket(pacer.generation, pacer.rate, waited=True)


def quiet(pacer: Pacer, responses: int = WINDOW) -> None:
    """Accepted requests enough that the next cut does not come "right after" the last."""
    for _ in range(responses):
        pacer.record(Ticket(pacer.generation, pacer.rate, waited=False), throttled=False)


def too_fast(pacer: Pacer) -> float:
    """Two throttles in a row; the ratio of the rate after to the rate before."""
    before = pacer.rate
    pacer.record(held_back(pacer), throttled=True)
    pacer.record(held_back(pacer), throttled=True)
    return pacer.rate / before


def past_slow_start(rate: float = 40.0) -> Pacer:
    """A pacer that found ``rate`` too fast at the end of slow start, a while ago."""
    subject, _ = pacer(rate)
    quiet(subject)
    for _ in range(2):
        subject.record(held_back(subject), throttled=True)
    quiet(subject)
    assert not subject.slow_start
    return subject


def test_requests_go_out_one_interval_apart() -> None:
    subject, clock = pacer(10.0)
    tickets = [subject.wait_turn() for _ in range(3)]
    assert clock.slept == pytest.approx([0.1, 0.1])
    assert [t.waited for t in tickets] == [False, True, True]
    assert subject.sent == 3


def test_a_late_request_does_not_squeeze_the_gap_after_it() -> None:
    subject, clock = pacer(10.0)
    subject.wait_turn()
    clock.now += 0.25  # the next thread comes late: it goes at once
    assert not subject.wait_turn().waited
    subject.wait_turn()
    assert clock.slept == pytest.approx([0.1])  # a full interval after the late one


def test_slow_start_at_most_doubles_the_rate_every_half_second() -> None:
    subject, clock = pacer(10.0)
    subject.wait_turn()
    clock.now += 0.5
    for _ in range(20):  # would be 10 * 1.25**20 without the bound
        subject.record(held_back(subject), throttled=False)
    assert subject.rate == pytest.approx(20.0)


def test_slow_start_grows_the_rate_with_each_accepted_request_that_was_held_back() -> None:
    subject, _ = pacer(10.0)
    subject.record(held_back(subject), throttled=False)
    subject.record(held_back(subject), throttled=False)
    assert subject.rate == pytest.approx(10.0 * (1 + SLOW_START_STEP) ** 2)
    # A request that did not wait says nothing about a faster rate.
    subject.record(Ticket(subject.generation, subject.rate, waited=False), throttled=False)
    assert subject.rate == pytest.approx(10.0 * (1 + SLOW_START_STEP) ** 2)


def test_one_throttle_alone_is_taken_for_jitter() -> None:
    subject, _ = pacer(10.0)
    subject.record(held_back(subject), throttled=True)
    for _ in range(WINDOW):
        subject.record(held_back(subject), throttled=False)
    subject.record(held_back(subject), throttled=True)  # out of the window of the first
    assert subject.slow_start
    assert subject.generation == 0
    assert subject.throttles == 2


def test_two_throttles_close_together_end_slow_start_one_step_below_the_rate() -> None:
    subject, _ = pacer(40.0)
    quiet(subject)
    subject.record(held_back(subject), throttled=True)
    subject.record(held_back(subject), throttled=False)
    subject.record(held_back(subject), throttled=True)
    grown = 40.0 * (1 + SLOW_START_STEP)
    assert not subject.slow_start
    assert subject.too_fast == pytest.approx(grown)
    assert subject.rate == pytest.approx(grown / (1 + SLOW_START_STEP) * CUT)
    assert subject.generation == 1


def test_too_fast_from_the_first_responses_cuts_deeper() -> None:
    subject, _ = pacer(40.0)  # throttled at once: the limit is well below
    subject.record(held_back(subject), throttled=True)
    subject.record(held_back(subject), throttled=True)
    assert subject.rate == pytest.approx(40.0 / (1 + SLOW_START_STEP) * CUT**2)


def test_responses_to_requests_paced_before_a_cut_do_not_cut_again() -> None:
    subject, _ = pacer(40.0)
    quiet(subject)
    in_flight = [held_back(subject) for _ in range(4)]
    for ticket in in_flight:
        subject.record(ticket, throttled=True)
    assert subject.generation == 1
    assert subject.rate == pytest.approx(40.0 / (1 + SLOW_START_STEP) * CUT)
    assert subject.throttles == 4


def test_a_cut_after_a_long_quiet_spell_is_shallow() -> None:
    subject = past_slow_start()
    quiet(subject, 100)  # then 2 throttled: 38 of the last 40 let through
    before = subject.rate
    assert too_fast(subject) == pytest.approx(CUT * 38 / 40)
    assert subject.too_fast == pytest.approx(before)


def test_throttles_spread_evenly_cut_to_just_under_the_share_let_through() -> None:
    subject = past_slow_start()  # 10 responses in this generation so far
    quiet(subject, 20)
    before = subject.rate
    for _ in range(2):  # one throttle in every ten: each alone is taken for jitter
        subject.record(held_back(subject), throttled=True)
        quiet(subject, WINDOW - 1)
    assert subject.generation == 1  # 2 of the last 40 throttled: 5 %
    # A bucket past its burst: 3 of the last 40 throttled is over 5 %; 37 let through.
    subject.record(held_back(subject), throttled=True)
    assert subject.generation == 2
    assert subject.rate == pytest.approx(before * CUT * 37 / 40)


def test_still_too_fast_right_after_a_cut_cuts_deeper_each_time_to_halving() -> None:
    subject = past_slow_start()
    ratios = [too_fast(subject) for _ in range(6)]
    # The share let through is judged over twenty responses at least: 2 of 20 throttled.
    share = CUT * (1 - 2 / (2 * WINDOW))
    assert ratios == pytest.approx([share, share, share, CUT**8, CUT**16, 0.5])


def test_after_a_deep_cut_the_rate_climbs_back_as_a_binary_search_then_creeps() -> None:
    subject = past_slow_start()
    for _ in range(5):  # far too fast: the last cuts go well below the limit
        too_fast(subject)
    high = subject.too_fast
    climbed = [subject.rate]
    while subject.rate < CUT * CUT * high:
        for _ in range(WINDOW - 1):  # ten accepted requests per step
            subject.record(held_back(subject), throttled=False)
            assert subject.rate == climbed[-1]
        subject.record(held_back(subject), throttled=False)
        climbed.append(subject.rate)
    halfway = [math.sqrt(low * high) for low in climbed[:-1]]
    assert climbed[1:-1] == pytest.approx(halfway[:-1])
    assert climbed[-1] == pytest.approx(min(halfway[-1], CUT * CUT * high))
    assert len(climbed) <= 5
    subject.record(held_back(subject), throttled=False)
    assert subject.rate == pytest.approx(climbed[-1] * (1 + STEP))


def test_the_rate_never_drops_below_the_floor() -> None:
    subject, _ = pacer(1.0)
    for _ in range(10):
        too_fast(subject)
    assert subject.rate == pytest.approx(0.5)
