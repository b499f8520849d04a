"""Synthetic labelled ball footage in the three dataset layouts (tennis, shuttlecock, generic).

A clip is a little 3D scene seen through a pinhole camera: a textured court with perspective
lines and a net, a backdrop with advertising boards and a crowd, players whose limbs and rackets
move, bystanders, small fast distractors and static ball-coloured marks, and one ball on a
physically simulated rally (gravity, drag, hits, damped bounces). The ball is drawn as a motion
blur streak along its path during the exposure, camera shake, brightness flicker and sensor noise
are added, and the written files are lossy (JPEG or H.264), so a model has to learn what a ball
looks like and how it moves rather than find the only bright dot.

Conventions:
    * World coordinates in metres: ``x`` across the court (0 on the centre line), ``y`` along it
      (0 on the near baseline, ``length`` on the far one), ``z`` up (0 on the ground).
    * Image coordinates are pixels of the written frame, ``x`` right and ``y`` down, with pixel
      centres at integer coordinates: the pixel in column ``j`` and row ``i`` covers
      ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. Labels are the exact ball centres in these
      coordinates (camera shake included), not rounded.
    * Visibility codes follow the datasets: 0 no ball or centre outside the frame, 1 clearly
      visible, 2 hard (heavily blurred, tiny or partly covered), 3 occluded (centre behind a
      player). Status (tennis): 0 flying, 1 hit, 2 bounce, on the frame nearest to the event.
    * Everything is drawn from one ``numpy.random.Generator``: the same seed gives the same
      labels and pixels. Clip ``k`` of :func:`synthesize` uses ``SeedSequence(seed,
      spawn_key=(k,))``, so adding clips does not change the earlier ones.

The pipeline is :func:`plan_clip` (all geometry and labels, small) then :func:`iter_clip` (frames
one at a time; memory does not grow with the clip length); :func:`render_clip` does both and
stacks the frames, for short clips and tests.

One module a topic, lower ones first (each imports only those above it):

- :mod:`~tracknet.data.synth.presets`: formats, difficulty presets, sports and court surfaces;
- :mod:`~tracknet.data.synth.camera`: the pinhole camera and its placement;
- :mod:`~tracknet.data.synth.physics`: the simulated rally (serves, shots, bounces);
- :mod:`~tracknet.data.synth.figures`: players and bystanders as posed capsules;
- :mod:`~tracknet.data.synth.distractors`: small fast things that look a bit like a ball;
- :mod:`~tracknet.data.synth.plan`: :func:`plan_clip`, the clip's plan and its labels;
- :mod:`~tracknet.data.synth.raster`: anti-aliased capsule drawing;
- :mod:`~tracknet.data.synth.scene`: the static background (court, net, backdrop, marks);
- :mod:`~tracknet.data.synth.render`: :func:`iter_clip` and :func:`render_clip`;
- :mod:`~tracknet.data.synth.layouts`: where a clip goes in each layout, and its files;
- :mod:`~tracknet.data.synth.writer`: :func:`synthesize` and :func:`iter_synthesize`;
- :mod:`~tracknet.data.synth.command`: the ``tracknet synth`` command's checks and report.
"""

from tracknet.data.synth.camera import Camera
from tracknet.data.synth.command import parse_size, run_synth
from tracknet.data.synth.layouts import (
    CLIPS_PER_GAME,
    RALLIES_PER_MATCH,
    ball_csv_path,
    clip_destination,
)
from tracknet.data.synth.physics import GRAVITY, SUBSTEPS
from tracknet.data.synth.plan import HARD_STRENGTH, ClipPlan, plan_clip
from tracknet.data.synth.presets import DIFFICULTIES, DIFFICULTY_PRESETS, FORMATS, Difficulty
from tracknet.data.synth.render import iter_clip, render_clip
from tracknet.data.synth.writer import clip_rng, iter_synthesize, synthesize

__all__ = [
    "CLIPS_PER_GAME",
    "DIFFICULTIES",
    "DIFFICULTY_PRESETS",
    "FORMATS",
    "GRAVITY",
    "HARD_STRENGTH",
    "RALLIES_PER_MATCH",
    "SUBSTEPS",
    "Camera",
    "ClipPlan",
    "Difficulty",
    "ball_csv_path",
    "clip_destination",
    "clip_rng",
    "iter_clip",
    "iter_synthesize",
    "parse_size",
    "plan_clip",
    "render_clip",
    "run_synth",
    "synthesize",
]
