"""Facts that several layers share: file suffixes, the names of the files tracknet reads and
writes, and the image normalisation of the ViT backbones.

Each fact is spelled here once; every other module imports it. Nothing here imports tracknet.
"""

from __future__ import annotations

# -- inputs -----------------------------------------------------------------------------------
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
"""Frames of an image folder (a clip stored as one image per frame)."""

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".ts"}
)
"""Containers read as video, by the dataset readers and by ``tracknet predict`` alike."""

IMAGE_FOLDER_FPS = 30.0
"""The frame rate assumed for an image folder (its overlay video, its timestamps)."""

# -- label and output files -------------------------------------------------------------------
BALL_CSV_SUFFIX = "_ball.csv"
"""``<stem>_ball.csv``: ``Frame,Visibility,X,Y`` beside a video or image folder, and what
``tracknet predict`` writes."""

DETAILS_CSV_SUFFIX = "_details.csv"
"""``<stem>_details.csv``: ``tracknet predict --details`` (score, provenance, candidates)."""

OVERLAY_SUFFIX = "_overlay.mp4"
"""``<stem>_overlay.mp4``: ``tracknet predict --overlay``."""

TENNIS_LABEL_CSV = "Label.csv"
"""The label file of a clip folder in the TrackNet tennis layout."""

# -- image normalisation ----------------------------------------------------------------------
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The RGB mean and standard deviation the DINOv2 / DINOv3 ViTs were trained with (used when a
backbone folder has no preprocessor config)."""


def ball_csv_name(stem: str) -> str:
    """The ball CSV's file name for a video or image folder named ``stem``."""
    return f"{stem}{BALL_CSV_SUFFIX}"
