"""Video I/O on PyAV: probing (:mod:`~tracknet.io.video.probe`), streaming frames in order
(:mod:`~tracknet.io.video.reader`), random access and its cache of open containers
(:mod:`~tracknet.io.video.seek`) and atomic writing (:mod:`~tracknet.io.video.writer`). Images are
:mod:`tracknet.io.image`.

``from tracknet.io.video import VideoReader`` is the import docs/python_api.md shows; inside the
package each name is imported from its module.
"""

from tracknet.io.video.reader import VideoReader

__all__ = ["VideoReader"]
