"""Clip-level splits: explicit globs, seeded ratios by game, and never a clip on two sides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracknet.config import SplitConfig
from tracknet.data.formats import Clip
from tracknet.data.splits import split_clips
from tracknet.errors import DataError
from tracknet.io.labels import TrackLabels


def _clip(name: str) -> Clip:
    labels = TrackLabels(np.arange(2), np.ones(2, int), np.ones(2), np.ones(2))
    return Clip(name, Path(f"/data/{name}.mp4"), labels, (64, 36), 30.0, 2)


def _tennis(games: int, clips_per_game: int = 3) -> list[Clip]:
    return [
        _clip(f"game{g}/Clip{c}") for g in range(1, games + 1) for c in range(1, clips_per_game + 1)
    ]


def _names(split: dict) -> dict[str, list[str]]:
    return {k: [c.name for c in v] for k, v in split.items()}


def test_explicit_globs_and_folder_names():
    clips = _tennis(4)
    cfg = SplitConfig(train=["game1/*", "game2"], val=["game3/Clip1"], test=["game4/*"])
    got = _names(split_clips(clips, cfg))
    assert got["train"] == [f"game{g}/Clip{c}" for g in (1, 2) for c in (1, 2, 3)]
    assert got["val"] == ["game3/Clip1"]
    assert got["test"] == ["game4/Clip1", "game4/Clip2", "game4/Clip3"]


def test_empty_train_takes_the_remaining_clips():
    got = _names(split_clips(_tennis(3), SplitConfig(val=["game2/*"], test=["game3/*"])))
    assert got["train"] == ["game1/Clip1", "game1/Clip2", "game1/Clip3"]


def test_a_training_clip_in_val_or_test_is_an_error():
    cfg = SplitConfig(train=["game1/*"], test=["game1/Clip2"])
    with pytest.raises(DataError, match=r"game1/Clip2.*both train and test"):
        split_clips(_tennis(2), cfg)


def test_val_and_test_may_share_clips():
    cfg = SplitConfig(train=["game1/*"], val=["game2/*"], test=["game2/*"])
    got = _names(split_clips(_tennis(2), cfg))
    assert got["val"] == got["test"]


def test_a_requested_split_matching_nothing_is_an_error():
    with pytest.raises(DataError, match=r"data\.split\.val .*matches none"):
        split_clips(_tennis(2), SplitConfig(train=["game1/*"], val=["game9/*"]))


def test_ratio_split_is_by_game_seeded_and_complete():
    clips = _tennis(10)
    cfg = SplitConfig(ratios=[0.8, 0.1, 0.1], seed=3)
    got = _names(split_clips(clips, cfg))
    assert [len(got[s]) for s in ("train", "val", "test")] == [24, 3, 3]  # 8 / 1 / 1 games
    for split in ("val", "test"):
        assert len({name.split("/")[0] for name in got[split]}) == 1  # one whole game
    assert got == _names(split_clips(clips, cfg))  # same seed, same split
    assert got != _names(split_clips(clips, SplitConfig(ratios=[0.8, 0.1, 0.1], seed=4)))


def test_ratio_split_falls_back_to_clips_with_few_games():
    clips = [_clip(f"clip_{i:04d}") for i in range(10)]
    got = _names(split_clips(clips, SplitConfig(ratios=[0.6, 0.2, 0.2])))
    assert [len(got[s]) for s in ("train", "val", "test")] == [6, 2, 2]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("games", [1, 2, 3, 7])
def test_a_split_never_shares_a_clip(seed, games):
    clips = _tennis(games, clips_per_game=2)
    got = _names(split_clips(clips, SplitConfig(ratios=[0.7, 0.2, 0.1], seed=seed)))
    train, val, test = (set(got[s]) for s in ("train", "val", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    assert train | val | test == {c.name for c in clips}
