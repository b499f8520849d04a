"""Tracking the ball over time, on plain numpy arrays: no model, no torch.

The online tracker, smoothing, a video's :class:`~tracknet.track.result.Track`, the trajectory
stage (flights, outliers, hits and bounces, gap filling) and the court's ground plane. It sits
below the metrics and the labelling tool, which use it without loading a model.
"""
