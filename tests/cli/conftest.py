"""Fixtures of the CLI tests: the tiny runs, data and stub model of the prediction tests."""

from __future__ import annotations

from tests.infer.conftest import stub_model, tiny_data, tiny_run  # noqa: F401  (fixture re-export)
