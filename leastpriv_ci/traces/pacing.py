"""Evenly spaced X-Ray requests, at a rate learned from X-Ray's throttling.

botocore's ``adaptive`` retry mode has a client-side rate limiter for this, but it sets
its rate from the response rate it has measured so far: a throttle in the first half
second (measured rate 0) drops it to 0.5 requests/s, each later throttle to 70 % of a
lagging measure, and its cubic climb back takes seconds. Against a limit with no burst
allowance it ends up well below the limit (50-70 % of it in ``bench/bench_fetch.py``).

This pacer replaces that limiter; botocore still does the retrying (``standard`` mode).
It sends each request at least ``1/rate`` seconds after the one before, so requests
arrive evenly spaced rather than in bursts, and learns ``rate`` much as TCP learns its
window:

- Each accepted request that the pacer held back grows ``rate``: by 25 % until X-Ray
  first says "too fast" (slow start; at most doubling every half second, as a bucket's
  burst can hide the limit for a while), then by 0.03 %, creeping up over a few hundred
  requests. After a deep cut it climbs back as a binary search would: every ten
  accepted requests, halfway towards the rate found too fast, until within two cuts.
- "Too fast" is two throttles within ten responses, or more than 5 % of the last forty
  throttled (a bucket past its burst throttles evenly). One
  throttle alone is jitter: on a busy machine two requests can reach X-Ray closer
  together than they left.
- Too fast cuts ``rate`` to 97 % of the rate the throttled request was paced at (at the
  end of slow start, of the rate one step before), times the share of the last forty
  requests X-Ray let through (counting at least twenty): past a bucket's burst, X-Ray
  lets its limit through and no more. Each cut starts a new generation: responses to
  requests paced before it do not cut again, but if X-Ray still throttles right after a
  cut, the next one goes twice as deep (at most halving the rate).

Growth is per request, not per second, so the saw-tooth, and the share of requests X-Ray
throttles, are much the same whatever its limit.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leastpriv_ci.errors import THROTTLED_CODES

INITIAL_RATE = 5.0  # requests/s before X-Ray has said anything
MIN_RATE = 0.5
SLOW_START_STEP = 0.25  # growth per accepted request until X-Ray first says "too fast"
STEP = 0.0003  # growth per accepted request afterwards, near the rate found too fast
CUT = 0.97  # the rate after "too fast", as a share of the rate it was reached at
WINDOW = 10  # responses (of one generation) in which two throttles mean "too fast"
TOLERATED = 0.05  # more throttles than this share of the last 40 also mean "too fast"
DEEPEST_CUT = 0.5  # a cut at most halves the rate
SLOW_START_DOUBLING = 0.5  # seconds: slow start at most doubles the rate this often
UNUSED = 1.5  # a rate this many times what requests really go out at does not bind


@dataclass(frozen=True, slots=True)
class Ticket:
    """How one request was paced: in which generation, at what rate, held back or not."""

    generation: int
    rate: float
    waited: bool


class Pacer:
    """A request pacer shared by threads. ``attach`` it to a botocore client."""

    def __init__(
        self,
        rate: float = INITIAL_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.slow_start = True
        self.generation = 0
        self.sent = 0
        self.throttles = 0
        self._clock = clock
        self._sleep = sleep
        self.too_fast = float("inf")  # the rate last found too fast
        self._climb = 0  # accepted requests held back since the last cut or climb
        self._initial = rate
        self._first_send: float | None = None
        self._last_send: float | None = None
        self._gap = 1 / rate  # moving average of the time between two requests going out
        self._responses = 0  # to this generation's requests
        self._streak = 0  # cuts in a row that came within WINDOW responses of the last
        self._recent: deque[bool] = deque(maxlen=4 * WINDOW)  # this generation's: throttled?
        self._turn = threading.Lock()  # held by the one thread waiting for the next slot
        self._lock = threading.Lock()  # guards the rest
        self._local = threading.local()  # the ticket of this thread's request in flight

    def attach(self, client: Any) -> None:
        """Pace every request ``client`` sends (retries too) and learn from each response."""
        client.meta.events.register("before-send", self._before_send)
        client.meta.events.register("needs-retry", self._on_response)

    def wait_turn(self) -> Ticket:
        """Block until the caller may send; say how its request was paced."""
        with self._turn:
            now = self._clock()
            ready = now if self._last_send is None else self._last_send + 1 / self.rate
            waited = now < ready
            if waited:
                self._sleep(ready - now)
                now = self._clock()
            with self._lock:
                if self._last_send is not None:
                    self._gap = (self._gap + now - self._last_send) / 2
                # From when it really went: a late wake-up must not squeeze the next gap.
                self._last_send = now
                if self._first_send is None:
                    self._first_send = now
                self.sent += 1
                return Ticket(self.generation, self.rate, waited)

    def record(self, ticket: Ticket, *, throttled: bool) -> None:
        """Learn from the response to the request paced with ``ticket``."""
        with self._lock:
            self.throttles += throttled
            if ticket.generation != self.generation:  # paced at a rate already given up
                return
            self._responses += 1
            self._recent.append(throttled)
            if throttled and (self._bunched() or self._evenly_too_fast()):
                self._cut(ticket.rate)
            elif not throttled and ticket.waited:  # grow only while the pacer holds back
                self._grow()

    def _grow(self) -> None:
        near = CUT * CUT * self.too_fast  # within two cuts of the rate found too fast
        if self.slow_start or self.rate >= near:
            step = SLOW_START_STEP if self.slow_start else STEP
            self.rate = max(self.rate, min(self.rate * (1 + step), self._ceiling()))
            return
        # Well below it after a deep cut: a binary search, a step per WINDOW accepted.
        self._climb += 1
        if self._climb >= WINDOW:
            self._climb = 0
            self.rate = min(near, math.sqrt(self.rate * self.too_fast))

    def _ceiling(self) -> float:
        """How fast slow start may be by now: threads arriving together wait too, though
        they send far slower, and a bucket's burst hides the limit for a while."""
        if not self.slow_start or self._first_send is None:
            return float("inf")
        elapsed = self._clock() - self._first_send
        return self._initial * 2 ** min(elapsed / SLOW_START_DOUBLING, 64)

    def _bunched(self) -> bool:
        """Two throttles among the last WINDOW responses."""
        return sum(itertools.islice(reversed(self._recent), WINDOW)) > 1

    def _evenly_too_fast(self) -> bool:
        return len(self._recent) >= 2 * WINDOW and self._share_throttled() > TOLERATED

    def _share_throttled(self) -> float:
        """Of this generation's latest responses (counting at least twice the window)."""
        return sum(self._recent) / max(len(self._recent), 2 * WINDOW)

    def _cut(self, too_fast: float) -> None:
        # Still too fast right after a cut: far over the limit, cut twice as deep.
        self._streak = self._streak + 1 if self._responses <= WINDOW else 0
        cut = CUT ** (2**self._streak)
        if self._gap > 0 and too_fast > UNUSED / self._gap:
            # Threads busy (or arriving together) sent far slower than the pacer allowed:
            # what they did send was too fast.
            too_fast = 1 / self._gap
        self.too_fast = too_fast
        if self.slow_start:  # the rate one step before had passed
            basis = too_fast / (1 + SLOW_START_STEP)
            self.slow_start = False
        else:
            basis = too_fast
            # Past a bucket's burst X-Ray passes its limit and no more, so the share it
            # passed is the limit's share of the rate (over twice the window at least).
            cut = min(cut, CUT * (1 - self._share_throttled()))
        self.rate = max(MIN_RATE, basis * max(DEEPEST_CUT, cut))
        self._climb = 0
        self.generation += 1
        self._responses = 0
        self._recent.clear()

    # botocore sends an attempt and hands its response over on the same thread.
    def _before_send(self, **_: Any) -> None:
        self._local.ticket = self.wait_turn()

    def _on_response(self, response: Any = None, **_: Any) -> None:
        ticket = getattr(self._local, "ticket", None)
        if response is None or ticket is None:  # no HTTP response: nothing learnt
            return
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        self.record(ticket, throttled=http.status_code == 429 or code in THROTTLED_CODES)
