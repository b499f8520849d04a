"""Reading one image file as RGB (Pillow), decoded at a reduced scale when that is enough."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tracknet.errors import DataError


def open_image(
    path: str | Path,
    target_size: tuple[int, int] | None = None,
    expect_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read an image as RGB ``uint8 [H, W, 3]``.

    Args:
        path: an image file Pillow can read.
        target_size: ``(W, H)`` the caller will resize to. For JPEGs the decoder then scales by
            1/2, 1/4 or 1/8 while decoding (much faster) as long as the result stays at least this
            big in both directions; the returned image may therefore be smaller than the file
            but never smaller than ``target_size`` (unless the file itself is).
        expect_size: ``(W, H)`` the file must have (before any reduced-scale decoding).

    Raises:
        DataError: the file is missing, unreadable, truncated or not an image, or not of
            ``expect_size``.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            if expect_size is not None and image.size != tuple(expect_size):
                w, h = image.size
                raise DataError(f"{path}: {w}x{h}, not {expect_size[0]}x{expect_size[1]} as before")
            if target_size is not None and image.format == "JPEG":
                image.draft("RGB", (int(target_size[0]), int(target_size[1])))
            return np.asarray(image.convert("RGB")).copy()
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"{path}: unreadable or corrupt image ({exc}); extract or copy this frame again"
        ) from exc
