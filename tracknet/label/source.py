"""What ``tracknet label SOURCE`` labels: the frames of SOURCE and the label file that goes with it.

SOURCE is a video, an image folder, or a clip of a dataset in one of the layouts tracknet reads
(``tracknet.data.formats``). The label file, unless ``--labels`` names one, is the one the layout
expects, so the result goes straight into ``tracknet train``:

* an image folder holding a ``Label.csv`` (tennis layout: ``gameN/ClipM/``): that ``Label.csv``;
* a video in ``matchN/video/`` beside a ``matchN/csv/`` folder (shuttlecock layout):
  ``matchN/csv/<rally>_ball.csv``;
* any other video or image folder (generic layout, and what ``tracknet predict`` writes):
  ``<stem>_ball.csv`` beside it.

A label file named ``Label.csv`` (any case) is written in the tennis layout (file names, status
column), any other in the ``Frame,Visibility,X,Y`` layout.

Conventions: frame numbers are 0-based positions (images in natural sort order, as the dataset
readers number them); sizes are ``(W, H)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tracknet.constants import IMAGE_SUFFIXES, TENNIS_LABEL_CSV, VIDEO_SUFFIXES, ball_csv_name
from tracknet.errors import DataError, UserError
from tracknet.io.frames import FrameSource

BALL_LAYOUT = "ball"  # Frame,Visibility,X,Y (+ Status)
TENNIS_LAYOUT = "tennis"  # file name,visibility,x-coordinate,y-coordinate,status


@dataclass(frozen=True)
class LabelSource:
    """The frames to label and where their labels go.

    Attributes:
        path: SOURCE as given (a video file or an image folder).
        video: the video file, or None for an image folder.
        images: the image files in frame order (empty for a video).
        frame_count: number of frames.
        frame_size: ``(W, H)`` of the frames.
        fps: frame rate (30 for image folders).
        labels_path: the label file (it need not exist yet).
        layout: :data:`BALL_LAYOUT` or :data:`TENNIS_LAYOUT`.
    """

    path: Path
    video: Path | None
    images: tuple[Path, ...]
    frame_count: int
    frame_size: tuple[int, int]
    fps: float
    labels_path: Path
    layout: str

    @property
    def name(self) -> str:
        """A short name for the page title: the video's or the folder's name."""
        return self.path.name

    @property
    def image_names(self) -> list[str]:
        """File names of the images (what a tennis ``Label.csv`` names its rows by)."""
        return [p.name for p in self.images]


def default_labels_path(source: Path) -> Path:
    """The label file the dataset layout of ``source`` expects (see the module docstring)."""
    if source.is_dir():
        tennis = [p for p in source.iterdir() if p.name.lower() == TENNIS_LABEL_CSV.lower()]
        if tennis:
            return tennis[0]
        return source.parent / ball_csv_name(source.name)
    parent = source.parent
    if parent.name == "video" and (parent.parent / "csv").is_dir():
        return parent.parent / "csv" / ball_csv_name(source.stem)
    return source.with_name(ball_csv_name(source.stem))


def layout_of(labels_path: Path) -> str:
    """The layout a label file is written in, from its name."""
    if labels_path.name.lower() == TENNIS_LABEL_CSV.lower():
        return TENNIS_LAYOUT
    return BALL_LAYOUT


def open_source(path: str | Path, labels: str | Path | None = None) -> LabelSource:
    """Resolve SOURCE (and ``--labels``) into a :class:`LabelSource`.

    Raises:
        UserError: SOURCE is missing or neither a video nor a folder of images; a tennis
            ``Label.csv`` was asked for a video.
        DataError: the video or the images cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such video or image folder")
    labels_path = Path(labels) if labels is not None else default_labels_path(path)
    if labels_path.is_dir():
        raise UserError(f"--labels {labels_path} is a folder; name the label file to write")
    layout = layout_of(labels_path)
    if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"{path}: not a video ({', '.join(sorted(VIDEO_SUFFIXES))}) or an image folder"
        )
    if path.is_file() and layout == TENNIS_LAYOUT:
        raise UserError(
            f"{labels_path}: a tennis Label.csv names image files; a video's labels are written "
            f"as {ball_csv_name(path.stem)} (Frame,Visibility,X,Y)"
        )
    try:
        frames = FrameSource(path)  # lists the images (natural order) or probes the video
    except DataError as exc:
        if path.is_dir() and "holds no images" in str(exc):
            shown = ", ".join(sorted(IMAGE_SUFFIXES))
            raise UserError(
                f"{path}: the folder holds no images ({shown}); for a dataset, name one clip "
                "(a clip folder such as game1/Clip1, or a video)"
            ) from None
        raise
    if frames.count < 1:
        raise DataError(f"{path}: the video holds no frames")
    size = (int(frames.size[0]), int(frames.size[1]))
    images = tuple(frames.images or ())
    video = None if frames.images is not None else path
    return LabelSource(
        path, video, images, int(frames.count), size, float(frames.fps), labels_path, layout
    )
