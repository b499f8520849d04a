"""A disk cache of a video's frames as JPEG files, filled by a background pass at low priority.

A random seek in an H.264 video decodes from the keyframe before the frame: with x264's default
keyframe interval (250 frames) that is about 200 ms at 1920x1080. So, once ``tracknet label``
has started, a separate process (``python -m tracknet.label.jpeg_cache``: it shares no
interpreter lock with the server) decodes the whole video once, in order, and writes each frame
as ``<index>.jpg`` into a folder of its own; once the pass has passed a frame, a request for it
is a file read. Frames the server has to decode itself (a request ahead of the pass) are written
there too, and the pass then only decodes them. The pass runs at nice 19, and the server holds
it while it decodes a frame itself (:meth:`JpegCache.pause`), so the two do not share the cores.

The pass reads its orders on its standard input (``p`` hold, ``g`` go on; the end of the input,
also when the server is killed: stop) and reports on its standard output, one line each: the
index of every frame done, then ``done`` (or ``stopped <why>``).

Where: ``$XDG_CACHE_HOME/tracknet/label-frames/<pid>-<random>/`` (default ``~/.cache/...``,
beside the training frame cache of :mod:`tracknet.data.frame_cache`: on disk, where a ``/tmp``
may be memory), else under the temporary folder. The folder is removed when the server closes;
one left by a killed server (its process is gone) is removed by the next ``tracknet label``.
Memory stays flat in the video's length; disk use is about 100-250 KB a 1080p frame, and the
pass stops, leaving the rest to decoding on request, before less than :data:`FREE_RESERVE`
bytes would stay free on that disk.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import tracknet
from tracknet.errors import DataError
from tracknet.io.video.reader import VideoReader
from tracknet.utils import log

JPEG_QUALITY = 90
FREE_RESERVE = 2 << 30  # bytes left free on the cache's disk (2 GiB)
DIR_NAME = "label-frames"
_CHECK_FREE_EVERY = 32  # frames between two looks at the free space
ENCODERS = max(1, min(4, os.cpu_count() or 1))  # JPEG-encoding threads of the pass


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """RGB ``uint8 [H, W, 3]`` -> JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def cache_roots() -> list[Path]:
    """Where session folders may go, in order of preference (see the module docstring)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return [
        Path(base) / "tracknet" / DIR_NAME,
        Path(tempfile.gettempdir()) / f"tracknet-{DIR_NAME}",
    ]


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: keep every folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or cannot tell: keep its folder
    return True


def sweep(root: Path) -> None:
    """Remove the session folders under ``root`` whose server process is gone."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-", 1)[0]
        if entry.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class JpegCache:
    """One session's folder of JPEG frames and the background pass that fills it.

    Attributes:
        folder: the session folder.
        position: frames the pass has finished (``0 .. position - 1`` are on disk, unless the
            pass stopped early).
        done: the pass went through the whole video.
        stopped: why the pass ended early (empty while it runs or when it is done).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.position = 0
        self.done = False
        self.stopped = ""
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._held = False
        self._closing = False

    @classmethod
    def create(cls, roots: Sequence[Path] | None = None) -> JpegCache | None:
        """A new session folder under the first usable root (None when none can be written)."""
        for root in cache_roots() if roots is None else roots:
            try:
                root.mkdir(parents=True, exist_ok=True)
                sweep(root)
                folder = root / f"{os.getpid()}-{secrets.token_hex(4)}"
                folder.mkdir()
            except OSError:
                continue
            return cls(folder)
        log.warning("no folder for the frame cache can be written: seeks decode every time")
        return None

    def path(self, index: int) -> Path:
        return self.folder / f"{index:07d}.jpg"

    def read(self, index: int) -> bytes | None:
        """Frame ``index`` as JPEG bytes, or None when it is not on disk (yet)."""
        try:
            return self.path(index).read_bytes()
        except OSError:
            return None

    def has(self, index: int) -> bool:
        return self.path(index).is_file()

    def write(self, index: int, data: bytes) -> None:
        """Store frame ``index`` (atomically: a reader never sees half a file)."""
        try:
            _write_atomic(self.path(index), data)
        except OSError as exc:  # full disk, folder removed: the frame is decoded again later
            log.debug("frame cache: cannot write frame %d (%s)", index, exc)

    # ------------------------------------------------------------------ the background pass
    def start_pass(self, video: Path, quality: int = JPEG_QUALITY) -> None:
        """Start the pass over ``video`` (a separate process at the lowest priority)."""
        env = dict(os.environ)
        package_root = str(Path(tracknet.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "tracknet.label.jpeg_cache", str(video), str(self.folder)]
        command += ["--quality", str(quality), "--parent", str(os.getpid())]
        try:
            self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stdin=subprocess.PIPE, env=env
            )
        except OSError as exc:
            self.stopped = f"the pass could not start ({exc})"
            log.warning("frame cache: %s; seeks decode every time", self.stopped)
            self._finished.set()
            return
        self._reader = threading.Thread(target=self._follow, name="label-jpeg-pass", daemon=True)
        self._reader.start()

    def _follow(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.isdigit():
                self.position = int(line) + 1
            elif line == "done":
                self.done = True
            elif line.startswith("stopped"):
                self.stopped = line.partition(" ")[2] or "stopped"
        code = self._process.wait()
        if not self.done and not self.stopped:
            self.stopped = f"the pass ended with exit code {code}"
        if self.stopped and not self._closing:
            log.warning(
                "frame cache: the background pass stopped at frame %d (%s); frames after it "
                "are decoded on request",
                self.position,
                self.stopped,
            )
        self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the pass to end; True when it went through the whole video."""
        self._finished.wait(timeout)
        return self.done

    def pass_pid(self) -> int | None:
        """The process id of the pass while it runs."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def pause(self) -> None:
        """Hold the pass while the server decodes (they would share the CPU's cores)."""
        self._order(True)

    def resume(self) -> None:
        """Let the pass go on (the server has nothing to decode)."""
        self._order(False)

    def _order(self, hold: bool) -> None:
        with self._lock:
            process = self._process
            if hold == self._held or process is None or process.stdin is None:
                return
            self._held = hold
            with contextlib.suppress(OSError, ValueError):  # it has ended
                process.stdin.write(b"p" if hold else b"g")
                process.stdin.flush()

    def close(self) -> None:
        """Stop the pass and remove the folder."""
        self._closing = True
        process = self._process
        if process is not None and process.stdin is not None:
            with self._lock, contextlib.suppress(OSError):
                process.stdin.close()  # end of its input: the pass ends at the next frame
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)


# --------------------------------------------------------------------------- the pass process
def _lowest_priority() -> None:
    # Nice 19, not the idle class: on a busy machine an idle-class pass would never run.
    with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
        os.nice(19)  # the threads FFmpeg starts later inherit it


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


class _Orders:
    """The server's orders on the standard input: ``p`` hold, ``g`` go on; its end: stop."""

    def __init__(self, fd: int) -> None:
        self._go = threading.Event()
        self._go.set()
        self.gone = False
        threading.Thread(target=self._read, args=(fd,), daemon=True).start()

    def _read(self, fd: int) -> None:
        # os.read, not sys.stdin: a thread blocked in a buffered read holds its lock, which the
        # interpreter's shutdown then cannot take (a fatal error at exit)
        while byte := os.read(fd, 1):
            if byte == b"p":
                self._go.clear()
            elif byte == b"g":
                self._go.set()
        self.gone = True
        self._go.set()

    def proceed(self) -> bool:
        """Wait while held; False once the server is gone."""
        self._go.wait()
        return not self.gone


def _store(cache: JpegCache, index: int, frame: np.ndarray, quality: int) -> None:
    if not cache.has(index):  # the server may have written it
        cache.write(index, encode_jpeg(frame, quality))


def run_pass(
    video: Path, folder: Path, quality: int, parent: int | None, orders: _Orders | None = None
) -> str:
    """Decode ``video`` once and write the frames not in ``folder`` yet; returns the last line.

    Decoding stays in order on this thread; JPEG encoding (which releases the interpreter lock)
    runs on :data:`ENCODERS` threads, and frames are reported done in order.
    """
    cache = JpegCache(folder)
    pending: deque[tuple[int, Future | None]] = deque()

    def report(block: bool) -> None:
        while pending and (block or len(pending) > ENCODERS or _ready(pending[0][1])):
            index, job = pending.popleft()
            if job is not None:
                job.result()
            print(index, flush=True)

    with VideoReader(video, warn=False) as reader, ThreadPoolExecutor(ENCODERS) as pool:
        for index, frame in reader:
            gone = orders is not None and not orders.proceed()
            if gone or (parent is not None and os.getppid() != parent) or not folder.is_dir():
                return "stopped the server is gone"
            job = None if cache.has(index) else pool.submit(_store, cache, index, frame, quality)
            pending.append((index, job))
            report(block=False)
            if index % _CHECK_FREE_EVERY == 0 and _free_bytes(folder) < FREE_RESERVE:
                report(block=True)
                return f"stopped less than {FREE_RESERVE >> 30} GiB free on the disk of {folder}"
        report(block=True)
    return "done"


def _ready(job: Future | None) -> bool:
    return job is None or job.done()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the background pass of tracknet label")
    parser.add_argument("video", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quality", type=int, default=JPEG_QUALITY)
    parser.add_argument("--parent", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)
    _lowest_priority()
    try:
        orders = _Orders(sys.stdin.fileno())
        try:
            last = run_pass(args.video, args.folder, args.quality, args.parent, orders)
        except DataError as exc:
            last = f"stopped {exc}"
        print(last, flush=True)
    except (BrokenPipeError, KeyboardInterrupt):  # the server is gone or stopped the pass
        # nothing more can be said: keep the interpreter's last flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
