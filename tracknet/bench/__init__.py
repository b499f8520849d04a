"""Benchmarks: speed of data loading, models and prediction, accuracy of model variants, and
the latency of the labelling tool's frames.

One module a job; ``tracknet bench`` (:mod:`tracknet.cli.bench`) calls one function of each:

- :mod:`tracknet.bench.timing`: machine description, timed runs, rates over intervals, medians,
  JSON and the printed tables (shared by the others);
- :mod:`tracknet.bench.data`: frames per second delivered by the training DataLoader;
- :mod:`tracknet.bench.models`: forward frames per second and peak memory of models, ONNX too;
- :mod:`tracknet.bench.predict`: end-to-end ``tracknet predict`` next to the model alone;
- :mod:`tracknet.bench.accuracy`: model variants trained on one fixed synthetic benchmark;
- :mod:`tracknet.bench.label`: how long a frame of ``tracknet label`` takes to reach the page.

The package itself imports nothing: import the module you need.
"""
