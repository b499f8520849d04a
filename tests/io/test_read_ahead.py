"""``read_ahead``: no timing of producer and consumer loses an item, the end or an error.

The first two tests are the hang of issue #23 (the end marker was put with a one-second
deadline and dropped when the consumer was slower than that); they need one pause longer
than that second. The stress test runs both sides with random short delays and a short poll
so that every interleaving of "queue full", "queue empty" and "thread gone" is reached.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from tracknet.io import frames as frames_module
from tracknet.io.frames import read_ahead

SLOW = 1.3  # longer than the deadline the old end marker had (1 s)
_Thread = threading.Thread  # the real one, for the tests' own threads


def _consume_in_thread(fn, limit: float = 20.0) -> list:
    """Run ``fn(out)`` in a thread; fail (instead of hanging the suite) if it does not end."""
    out: list = []

    def run():
        try:
            fn(out)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            out.append(exc)

    t = _Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), f"the consumer is still waiting after {limit} s: {out}"
    return out


def test_a_slow_consumer_gets_every_item_and_the_end():
    def consume(out):
        for x in read_ahead(range(3), depth=1):
            if x == 0:
                time.sleep(SLOW)  # a slow model: the producer is done and waits with its end
            out.append(x)
        out.append("end")

    assert _consume_in_thread(consume) == [0, 1, 2, "end"]


def test_a_producer_error_with_the_queue_full_reaches_a_slow_consumer():
    def items():
        yield 0
        yield 1
        raise ValueError("corrupt packet")

    def consume(out):
        for x in read_ahead(items(), depth=1):
            if x == 0:
                time.sleep(SLOW)
            out.append(x)

    out = _consume_in_thread(consume)
    assert out[:2] == [0, 1]
    assert isinstance(out[2], ValueError) and str(out[2]) == "corrupt packet"


def test_a_consumer_that_stops_early_stops_the_producer():
    pulled = []
    finished = threading.Event()

    def items():
        try:
            for i in range(10_000):
                pulled.append(i)
                yield i
        finally:
            finished.set()

    stream = read_ahead(items(), depth=2, poll=0.01)
    assert next(stream) == 0
    stream.close()  # the consumer stops: the producer notices at its next hand-over
    assert finished.wait(5.0), "the producer kept going after the consumer stopped"
    assert len(pulled) <= 5  # the queue's two, the one in hand, and the one being offered
    deadline = time.monotonic() + 5.0
    while any(t.name == "tracknet-read-ahead" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the read-ahead thread did not end"
        time.sleep(0.01)


def test_a_producer_thread_that_vanished_is_an_error_not_a_hang(monkeypatch):
    class Vanishing(threading.Thread):
        """A thread that ends at once without running its target (as if it were killed)."""

        def run(self):
            return

    class Threading:  # the module's view of ``threading``, with the vanishing thread
        Thread = Vanishing
        Event = threading.Event

    monkeypatch.setattr(frames_module, "threading", Threading)

    def consume(out):
        for x in read_ahead(range(3), depth=1, poll=0.01):
            out.append(x)

    out = _consume_in_thread(consume, limit=5.0)
    assert len(out) == 1 and isinstance(out[0], RuntimeError)
    assert "without handing over its end" in str(out[0])


@pytest.mark.parametrize("seed", range(12))
def test_random_delays_on_both_sides_lose_nothing(seed):
    rng = random.Random(seed)
    n = rng.randint(0, 40)
    fail_at = rng.choice([None, None, rng.randint(0, max(n - 1, 0))])
    depth = rng.randint(1, 4)
    produce_delays = [rng.choice([0.0, 0.0, rng.uniform(0, 0.004)]) for _ in range(n)]
    consume_delays = [rng.choice([0.0, 0.0, rng.uniform(0, 0.004)]) for _ in range(n)]

    def items():
        for i in range(n):
            time.sleep(produce_delays[i])
            if fail_at == i:
                raise KeyError(i)
            yield i

    def consume(out):
        for x in read_ahead(items(), depth=depth, poll=0.001):
            time.sleep(consume_delays[x])
            out.append(x)
        out.append("end")

    out = _consume_in_thread(consume)
    if fail_at is None or n == 0:
        assert out == [*range(n), "end"]
    else:
        assert out[:-1] == list(range(fail_at))
        assert isinstance(out[-1], KeyError) and out[-1].args == (fail_at,)
