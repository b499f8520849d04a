"""``tracknet predict`` as one function: a run folder and many inputs in, their outputs out.

:func:`run_predict` is a thin layer over the Python API (:class:`tracknet.predict.api.Tracker`): it
loads the run once (its configuration with the settings applied as overrides:
:func:`tracknet.settings.config_overrides`, the mapping of the Python API's keywords too),
takes this process's share of the inputs when launched by ``torchrun`` / ``accelerate launch`` /
MPI (balanced by size, largest first), skips inputs whose outputs are complete (``skip_done``),
writes each input's outputs with :meth:`Tracker.write <tracknet.predict.api.Tracker.write>`, printing one
line per input, and records every input in ``DIR/manifest.json``
(:mod:`tracknet.predict.manifest`) when there is more than one input or process. A live source
(:func:`tracknet.io.live.is_live`) goes through :meth:`Tracker.stream
<tracknet.predict.api.Tracker.stream>` instead, its rows written as they come (:func:`predict_live`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from tracknet.config import load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.errors import UserError
from tracknet.infer.export import onnx_for_run
from tracknet.infer.loading import follow_input_size, load_run, resolve_checkpoint
from tracknet.infer.onnx_backend import OnnxModel
from tracknet.infer.source import prefetch_clip
from tracknet.io.events import events_csv_name
from tracknet.io.live import is_live
from tracknet.predict.api import Tracker
from tracknet.predict.court_report import court_csv_name
from tracknet.predict.inputs import (
    expand_inputs,
    input_bytes,
    is_done,
    output_names,
    output_paths,
    shard_largest_first,
    split_overrides,
)
from tracknet.predict.manifest import (
    RecordGatherer,
    previous_records,
    record,
    skipped_record,
    write_manifest,
)
from tracknet.predict.pipeline import PredictResult
from tracknet.predict.stream import RowWriter
from tracknet.settings import config_overrides
from tracknet.track.court import Court, parse_corners
from tracknet.utils import launcher_local_rank, launcher_rank

log = logging.getLogger("tracknet.predict")


def _setting_overrides(settings: Mapping[str, Any], world: int) -> list[str]:
    """The overrides of ``settings`` (they win over key=value items); with several processes and
    no device set, each process takes its own GPU."""
    overrides = config_overrides(settings)
    keys = {item.partition("=")[0] for item in overrides}
    if "predict.device" not in keys and world > 1 and torch.cuda.is_available():
        local = launcher_local_rank() % torch.cuda.device_count()
        overrides.insert(0, f"predict.device=cuda:{local}")
    return overrides


def _tracker(checkpoint: str | Path, overrides: list[str], backend: str) -> Tracker:
    """The run as a :class:`Tracker` (``load_run`` looked up here, so tests can stand in)."""
    model, cfg = load_run(checkpoint, overrides)
    if backend == "onnx":
        model = OnnxModel.for_model(onnx_for_run(checkpoint, model), model)
    return Tracker(model, cfg)


def _prefetch_clip(checkpoint: str | Path, overrides: list[str], backend: str, path) -> None:
    """Start decoding the first input (its first frames at model-input size, and its
    background for a model that takes one) while the model loads
    (:func:`tracknet.infer.source.prefetch_clip`; the run's configuration read without the
    model)."""
    if backend != "torch" or not isinstance(path, str | Path):
        return
    try:
        _, config = resolve_checkpoint(checkpoint)
        cfg = load_config(config, overrides)
        follow_input_size(cfg, load_config(config))
    except Exception:  # loading the model reports it properly
        return
    detail = cfg.model.detail
    background = cfg.model.type == "vit" and detail.enabled and detail.background
    prefetch_clip(path, HeatmapCodec.from_config(cfg), background=background)


def run_predict(
    items: Sequence[str],
    checkpoint: str | Path,
    out_dir: str | Path = "predictions",
    *,
    settings: Mapping[str, Any] | None = None,
    overlay: bool = False,
    details: bool = False,
    events: bool = False,
    court: str | None = None,
    court_size: str | None = None,
    backend: str = "torch",
    progress: bool = True,
    skip_done: bool = False,
) -> int:
    """Predict every input into ``out_dir``; returns the exit status (2 when an input failed).

    Args:
        items: videos, image folders or folders of videos, a live source (alone), and
            ``key.sub=value`` overrides of the run's configuration, in any order
            (:func:`~tracknet.predict.inputs.split_overrides`).
        checkpoint: the run folder (or one of its checkpoints).
        out_dir: the output folder.
        settings: configuration settings as :meth:`Tracker.from_pretrained
            <tracknet.predict.api.Tracker.from_pretrained>` takes them (``{"half": True}``,
            ``{"predict.trajectory.fill": "fit"}``: :func:`tracknet.settings.config_overrides`);
            they win over the ``key=value`` items (the command's options:
            :data:`tracknet.cli.options.PREDICT_OPTIONS`).
        overlay, details: also write the overlay video and the details CSV.
        events, court, court_size: the trajectory stage's outputs (``--events``, ``--court``,
            ``--court-size``; :mod:`tracknet.predict.pipeline`).
        backend: ``torch`` or ``onnx`` (the run's ``model.onnx``, exported on first use).
        progress: a progress bar per input (on rank 0 only).
        skip_done: leave out the inputs whose outputs all exist (each is written atomically).

    Raises:
        UserError: no input, clashing output names, an unusable setting or checkpoint; or the
            error of the input when only one was given (with several, a failed input is
            recorded, reported on stderr, and the others go on).
    """
    started = time.time()
    rank, world = launcher_rank()
    inputs, overrides = split_overrides(list(items))
    if not inputs:
        raise UserError("no video or image folder given (only key=value overrides)")
    inputs = expand_inputs(inputs)
    names = output_names(inputs)  # on the full list: every rank agrees
    overrides += _setting_overrides(settings or {}, world)
    if court_size and not court:
        raise UserError("--court-size needs --court x1,y1,x2,y2,x3,y3,x4,y4")
    court_model = None
    if court:
        court_model = Court.from_corners(parse_corners(court), court_size or "tennis")
    live = [i for i in inputs if is_live(i)]
    if live:
        if len(inputs) > 1:
            raise UserError(f"a live source ({live[0]}) must be the only input")
        if overlay:
            raise UserError("--overlay is not available for a live source")
        if rank != 0:
            return 0
        tracker = _tracker(checkpoint, overrides, backend)
        return predict_live(tracker, live[0], out_dir, names[0], details, progress)

    def outputs_of(name: str) -> list[Path]:
        extra = [events_csv_name(name)] if events else []
        extra += [court_csv_name(name)] if court else []
        return output_paths(out_dir, name, overlay, details, extra)

    jobs = list(zip(inputs, names, strict=True))
    if world > 1:
        jobs = shard_largest_first(jobs, [input_bytes(i) for i in inputs], rank, world)
    with RecordGatherer(rank, world) as gatherer:
        records = _predict_jobs(
            tracker_args=(checkpoint, overrides, backend),
            jobs=jobs,
            single=len(inputs) == 1,
            out_dir=out_dir,
            outputs_of=outputs_of,
            skip_done=skip_done,
            progress=rank == 0 and progress,
            rank=rank,
            write_args={
                "overlay": overlay,
                "details": details,
                "events": events,
                "court": court_model,
            },
        )
        if world > 1:
            done = sum(r["status"] != "failed" for r in records)
            print(f"[rank {rank}/{world}] predicted {done} of {len(inputs)} inputs")
        if len(inputs) > 1 or world > 1:
            _write_manifest(out_dir, records, gatherer, checkpoint, started)
    failed = sum(r["status"] == "failed" for r in records)
    if failed:
        print(f"tracknet predict: {failed} of {len(records)} inputs failed", file=sys.stderr)
        return 2
    return 0


def _predict_jobs(
    *, tracker_args, jobs, single, out_dir, outputs_of, skip_done, progress, rank, write_args
) -> list[dict]:
    """Predict this process's ``jobs`` (``(input, name)``), printing a line each; returns
    their manifest records. A failure is recorded and the others go on (``single``: raised)."""
    records = []
    if skip_done:
        previous = previous_records(out_dir)
        todo = []
        for path, name in jobs:
            if is_done(outputs_of(name)):
                records.append(skipped_record(path, name, outputs_of(name), rank, previous))
            else:
                todo.append((path, name))
        if records:
            print(f"skipped {len(records)} input(s) whose outputs are complete (--skip-done)")
        jobs = todo
    if jobs:  # nothing to do: the model is not even loaded
        checkpoint, overrides, backend = tracker_args
        _prefetch_clip(checkpoint, overrides, backend, jobs[0][0])
        tracker = _tracker(*tracker_args)
        for path, name in jobs:
            outputs = outputs_of(name)
            try:
                res = tracker.write(path, out_dir, progress=progress, name=name, **write_args)
            except Exception as exc:  # one bad input does not stop the others
                if single:
                    raise
                why = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
                print(f"tracknet predict: error: {path}: {why}", file=sys.stderr)
                records.append(record(path, name, "failed", outputs, rank, error=why))
                continue
            records.append(
                record(
                    path,
                    name,
                    "done",
                    outputs,
                    rank,
                    frames=res.frames,
                    seconds=res.seconds,
                    detected=res.detected,
                    undecodable=res.undecodable,
                )
            )
            print(_summary_line(res))
    return records


def _summary_line(res: PredictResult) -> str:
    """The line printed for one predicted input."""
    bad = f", {res.undecodable} undecodable" if res.undecodable else ""
    filled = f", {res.filled} filled" if res.filled else ""
    extra = f", overlay {res.overlay}" if res.overlay else ""
    files = res.trajectory
    if files is not None and files.events is not None:
        extra += f", {files.hits} hits and {files.bounces} bounces -> {files.events}"
    if files is not None and files.court is not None:
        summary = f" {files.court_summary}" if files.court_summary else ""
        extra += f", court{summary} -> {files.court}"
    return (
        f"{res.source}: {res.frames} frames ({res.fps:.1f} frames/s), ball in "
        f"{res.detected}{bad}{filled} -> {res.csv}{extra}"
    )


def _write_manifest(out_dir, records, gatherer: RecordGatherer, checkpoint, started) -> None:
    """``manifest.json`` from the main process (every process's records), or this process's
    own ``manifest.rank<R>.json`` when the processes cannot meet."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    gathered = gatherer.gather(records)
    common = {"checkpoint": str(checkpoint), "world": gatherer.world, "started": started}
    if gathered is not None:
        print(f"manifest: {write_manifest(out_dir, gathered, **common)}")
    elif not gatherer.active:
        write_manifest(out_dir, records, rank=gatherer.rank, **common)


def predict_live(
    tracker: Tracker,
    source: str,
    out_dir: str | Path,
    name: str,
    details: bool = False,
    progress: bool = True,
) -> int:
    """Predict a live source until it ends (or Ctrl-C), its rows written and flushed as they
    come; prints what happened (frames, dropped, reconnections). Returns 0.

    Raises:
        DataError: the source cannot be opened.
    """
    if tracker.cfg.predict.smooth:
        log.warning("predict.smooth does not apply to a live source (rows are written at once)")
    interrupted = False
    with (
        tracker.stream(source) as results,
        RowWriter(out_dir, name, details) as writer,
        tqdm(desc=name, unit="frame", disable=not progress, dynamic_ncols=True) as bar,
    ):
        try:
            for point in results:
                writer.write(point)
                bar.update(1)
                if point.dropped:
                    bar.set_postfix(dropped=results.dropped, refresh=False)
        except KeyboardInterrupt:
            interrupted = True
    how = "stopped (Ctrl-C)" if interrupted else "stream ended"
    lost = f", {results.reconnects} reconnection(s)" if results.reconnects else ""
    print(
        f"{source}: {how}: {results.frames} frames, {results.dropped} dropped, ball in "
        f"{results.detected}{lost} -> {writer.csv}"
    )
    if results.lost and not interrupted:
        print(f"{source}: last loss: {results.lost[-1]}", file=sys.stderr)
    return 0
