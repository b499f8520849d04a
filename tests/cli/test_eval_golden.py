"""``tracknet eval`` writes and prints what it did before its results became dataclasses
(:mod:`tests.cli.eval_golden`): the report files, the ``--json`` file and the tables of a CSV
scored against labels, and the layout of a checkpoint's metrics JSON."""

from __future__ import annotations

import json

import pytest

from tests.cli.eval_golden import GOLDEN, checkpoint_metrics, csv_case, key_layout


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(GOLDEN.read_text())


def test_csv_report_json_and_tables_are_unchanged(tmp_path, expected):
    got = csv_case(tmp_path)
    assert list(got) == list(expected["csv"])
    for name, text in expected["csv"].items():
        assert got[name] == text, name


def test_checkpoint_metrics_keep_their_keys_in_order(tmp_path, expected):
    metrics = checkpoint_metrics(tmp_path)
    assert key_layout(metrics) == expected["checkpoint_keys"]
    assert json.loads(json.dumps(metrics)) == metrics  # JSON-serialisable as it is
