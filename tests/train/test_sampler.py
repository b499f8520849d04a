"""ResumableBatchSampler: a pure function of (seed, micro-batch), rank shards, resumes."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
import torch

from tracknet.train.sampler import ResumableBatchSampler, split_key


def _take(sampler: ResumableBatchSampler, n: int) -> list[list[int]]:
    return list(islice(iter(sampler), n))


def test_the_order_is_a_function_of_the_seed():
    a = _take(ResumableBatchSampler(30, 4, seed=7), 20)
    b = _take(ResumableBatchSampler(30, 4, seed=7), 20)
    assert a == b
    assert a != _take(ResumableBatchSampler(30, 4, seed=8), 20)
    # iterating again starts over: the sampler holds no hidden state
    sampler = ResumableBatchSampler(30, 4, seed=7)
    assert _take(sampler, 20) == _take(sampler, 20) == a


def test_each_epoch_is_a_permutation_seeded_by_seed_plus_epoch():
    sampler = ResumableBatchSampler(30, 4, seed=7)
    order = sampler.epoch_order(2)
    assert sorted(order.tolist()) == list(range(30))
    assert torch.equal(order, torch.randperm(30, generator=torch.Generator().manual_seed(9)))
    assert not torch.equal(sampler.epoch_order(0), sampler.epoch_order(1))
    assert ResumableBatchSampler(30, 4, shuffle=False).epoch_order(3).tolist() == list(range(30))


def test_keys_are_epoch_times_size_plus_index_and_the_tail_is_dropped():
    sampler = ResumableBatchSampler(30, 4, seed=1)
    assert sampler.batches_per_epoch == len(sampler) == 7  # 28 of 30 samples, the tail dropped
    batches = _take(sampler, 3 * 7)
    for epoch in range(3):
        keys = [k for b in batches[7 * epoch : 7 * (epoch + 1)] for k in b]
        pairs = [split_key(k, 30) for k in keys]
        assert {e for e, _ in pairs} == {epoch}
        indices = [i for _, i in pairs]
        assert len(set(indices)) == 28, "no index twice in an epoch"
        assert indices == sampler.epoch_order(epoch)[:28].tolist()
    assert split_key(2 * 30 + 5, 30) == (2, 5)


@pytest.mark.parametrize("start", [0, 3, 7, 11, 20])
def test_resuming_at_start_continues_the_same_order(start):
    full = _take(ResumableBatchSampler(30, 4, seed=3), 30)
    resumed = _take(ResumableBatchSampler(30, 4, seed=3, start=start), 30 - start)
    assert resumed == full[start:]


@pytest.mark.parametrize(("num_samples", "world"), [(24, 3), (26, 2), (40, 4)])
def test_ranks_share_each_global_batch_and_cover_each_index_once_per_epoch(num_samples, world):
    batch = 3
    ranks = [
        ResumableBatchSampler(num_samples, batch, seed=5, rank=r, world_size=world)
        for r in range(world)
    ]
    single = ResumableBatchSampler(num_samples, batch * world, seed=5)
    per_epoch = single.batches_per_epoch
    assert all(s.batches_per_epoch == per_epoch for s in ranks)
    streams = [_take(s, 2 * per_epoch) for s in ranks]
    # N processes with batch B see what one process with batch N*B sees, in rank order.
    for step, global_batch in enumerate(_take(single, 2 * per_epoch)):
        parts = [stream[step] for stream in streams]
        assert all(len(p) == batch for p in parts)
        assert [k for p in parts for k in p] == global_batch
    for epoch in range(2):
        seen = Counter(
            split_key(k, num_samples)[1]
            for stream in streams
            for b in stream[epoch * per_epoch : (epoch + 1) * per_epoch]
            for k in b
        )
        assert set(seen.values()) == {1}, "an index twice in one epoch"
        assert len(seen) == per_epoch * batch * world
        assert len(seen) > num_samples - batch * world, "only an incomplete global batch is left"
    if num_samples % (batch * world) == 0:
        assert len(seen) == num_samples


def test_fewer_samples_than_one_global_batch_is_refused():
    with pytest.raises(ValueError, match="fewer than one global batch"):
        ResumableBatchSampler(7, 4, world_size=2)
    assert len(ResumableBatchSampler(8, 4, world_size=2)) == 1
