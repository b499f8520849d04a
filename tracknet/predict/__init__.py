"""``tracknet predict``: the command and its Python API.

:class:`~tracknet.predict.api.Tracker` (the Python API, ``from tracknet import Tracker``),
:func:`~tracknet.predict.command.run_predict` (the command as one function: inputs, shards,
``--skip-done``, the manifest), and the plumbing between a tracked source and its files: the file
pipeline, the stream of results as frames arrive, the ball, events, court and details CSVs and
the overlay video.
"""
