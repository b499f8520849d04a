"""``tracknet eval``: scoring a checkpoint on a dataset split, or any tool's CSVs against labels.

:mod:`~tracknet.evaluate.score` runs a checkpoint through the model and the tracker (or reads a
CSV) and scores positions with :mod:`tracknet.eval.metrics`; :mod:`~tracknet.evaluate.events`
scores hits and bounces; :mod:`~tracknet.evaluate.report` writes the report files. The metrics
themselves are :mod:`tracknet.eval`, on plain arrays.
"""
