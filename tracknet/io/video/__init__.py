"""Video I/O on PyAV (:mod:`~tracknet.io.video.reader`).

``from tracknet.io.video import VideoReader`` is the import docs/python_api.md shows; inside the
package each name is imported from its module.
"""

from tracknet.io.video.reader import VideoReader

__all__ = ["VideoReader"]
