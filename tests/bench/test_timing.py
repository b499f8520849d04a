"""The shared timing helpers: summaries of runs, rates over intervals, tables and JSON."""

import json

import pytest
import torch

from tracknet.bench.timing import (
    machine_info,
    print_table,
    rate_over_intervals,
    summarize_runs,
    time_runs,
    write_json,
)


def test_summarize_runs_reports_the_median_and_the_spread():
    r = summarize_runs([1.0, 2.0, 4.0], frames=8)
    assert (r["fps_median"], r["fps_min"], r["fps_max"]) == (4.0, 2.0, 8.0)
    assert r["seconds_median"] == 2.0 and r["repeats"] == 3


def test_time_runs_calls_warmup_plus_repeats_times():
    calls = []
    seconds = time_runs(lambda: calls.append(1), warmup=2, repeats=3, device=torch.device("cpu"))
    assert len(calls) == 5 and len(seconds) == 3 and all(s >= 0 for s in seconds)


def test_rate_over_intervals_counts_units_of_the_requested_intervals():
    rate = rate_over_intervals(iter(lambda: 5, None), seconds=0.03, warmup=0.0, intervals=3)
    assert len(rate["intervals"]) == 3 and rate["interval_s"] == pytest.approx(0.01)
    assert 0 < rate["min"] <= rate["median"] <= rate["max"]


def test_rate_over_intervals_fails_on_a_source_that_runs_dry():
    with pytest.raises(RuntimeError, match="ran dry"):
        rate_over_intervals(iter([1, 1]), seconds=10.0, warmup=0.0, intervals=2)


def test_table_json_and_machine(tmp_path, capsys):
    print_table("title", [("a", 1), ("longer", "x")])
    assert capsys.readouterr().out == "title\n  a       1\n  longer  x\n"
    path = tmp_path / "r.json"
    write_json(str(path), {"machine": machine_info()})
    assert json.loads(path.read_text())["machine"]["nproc"] >= 1
    write_json(None, {})  # no path: nothing written, nothing printed
    assert capsys.readouterr().out == f"wrote {path}\n"
