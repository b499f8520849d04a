"""Hit or bounce? Naming the breakpoints of a ball's flight from image geometry alone.

At a breakpoint the ball's image velocity changes from ``v_before`` to ``v_after`` (px/frame,
``x`` right, ``y`` down). The ground reverses the ball's vertical motion and barely touches its
horizontal one, so the change ``d = v_after - v_before`` of a bounce points up in the image with a
small sideways part; a racket sends the ball anywhere. :func:`bounce_evidence` scores that,
:func:`label_events` adds the rhythm of a rally (hit, bounce, hit, bounce ...) by dynamic
programming over the events of a track.

Limits: from one camera, a hit that sends the ball straight up the image (a near player hitting
a ball coming down the middle) looks like a bounce; the rhythm prior repairs most of those. For
sports without bounces in play (badminton) set the rhythm bonus to 0. No event labels are used:
the numbers below are geometric margins, not a trained model.
"""

from __future__ import annotations

import numpy as np

UP_MIN = 0.8  # a bounce's change of velocity points within ~37 degrees of straight up
RISING_MAX = 0.3  # ... and the ball was not rising faster than 0.3 |d| before it


def bounce_evidence(v_before: np.ndarray, v_after: np.ndarray, lateral: float = 0.2) -> np.ndarray:
    """How much each velocity change looks like a bounce, in ``[-1, 1]`` (positive: bounce).

    With ``d = v_after - v_before``, a bounce needs ``-d_y >= UP_MIN |d|`` (the change points up),
    ``|d_x| <= lateral |d|`` (barely sideways) and ``v_before_y >= -RISING_MAX |d|`` (the ball
    was not rising fast before it). The evidence is the smallest of the three margins, each
    scaled to reach 1 at a clear pass, clipped to ``[-1, 1]``.

    Args:
        v_before, v_after: ``[B, 2]`` velocities in px/frame.
        lateral: the largest sideways fraction of a bounce's change.
    """
    v_before = np.asarray(v_before, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(v_after, dtype=np.float64).reshape(-1, 2) - v_before
    size = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    margins = np.stack(
        [
            (lateral - np.abs(d[:, 0]) / size) / max(lateral, 1e-9),
            (-d[:, 1] / size - UP_MIN) / (1.0 - UP_MIN),
            (v_before[:, 1] / size + RISING_MAX) / RISING_MAX,
        ]
    )
    evidence: np.ndarray = np.clip(margins.min(axis=0), -1.0, 1.0)
    return evidence


def label_events(evidence: np.ndarray, chain: np.ndarray, alternation: float) -> np.ndarray:
    """``bool [B]``: bounce (else hit) for events in time order.

    Maximises ``sum(+evidence of bounces, -evidence of hits) + alternation * (number of
    neighbouring events of different kinds in the same chain)`` exactly (Viterbi over two states,
    O(B)). In tennis and table tennis hits and bounces take turns; a volley or a double bounce
    breaks the pattern, so it is a bonus, not a rule.

    Args:
        evidence: ``[B]`` from :func:`bounce_evidence`.
        chain: ``[B]`` ids; neighbouring events with different ids (a long gap between them) are
            not linked.
        alternation: the bonus (0: each event by the sign of its evidence).
    """
    evidence = np.asarray(evidence, dtype=np.float64).reshape(-1)
    n = len(evidence)
    if n == 0 or alternation <= 0:
        return evidence > 0
    linked = np.array([[0.0, alternation], [alternation, 0.0]])  # [previous kind, kind]
    best = np.array([-evidence[0], evidence[0]])  # hit, bounce
    back = np.zeros((n, 2), dtype=np.int64)
    for i in range(1, n):
        total = best[:, None] + (linked if chain[i] == chain[i - 1] else 0.0)
        back[i] = total.argmax(axis=0)
        best = total.max(axis=0) + np.array([-evidence[i], evidence[i]])
    state = int(best.argmax())
    out = np.zeros(n, dtype=bool)
    for i in range(n - 1, -1, -1):
        out[i] = state == 1
        state = int(back[i, state])
    return out
