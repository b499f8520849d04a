"""A deterministic, resumable, rank-aware batch order.

The order of samples is a pure function of ``(seed, epoch)``: epoch ``e`` is a permutation drawn
from a generator seeded with ``seed + e``, cut into global batches of ``batch_size * world_size``
samples (the last incomplete one dropped). Rank ``r`` takes slice ``r`` of every global batch, so N
processes with per-process batch B see exactly the samples of one process with batch N*B. Resuming
needs nothing but the number of micro-batches already consumed.

Each sample key is ``epoch * len(dataset) + index``: the dataset derives its augmentation draw from
the key, so augmentation too is reproducible whatever the worker count or a resume point.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableBatchSampler(Sampler[list[int]]):
    """Yields this rank's part of each global batch, forever, from micro-batch ``start`` on."""

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
        shuffle: bool = True,
    ):
        if num_samples < batch_size * world_size:
            raise ValueError(
                f"{num_samples} training windows are fewer than one global batch "
                f"({batch_size} x {world_size} processes); lower train.batch_size or add data"
            )
        self.num_samples, self.batch_size = num_samples, batch_size
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.start, self.shuffle = start, shuffle

    @property
    def batches_per_epoch(self) -> int:
        return self.num_samples // (self.batch_size * self.world_size)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.num_samples)
        g = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.num_samples, generator=g)

    def __iter__(self) -> Iterator[list[int]]:
        per_epoch = self.batches_per_epoch
        global_batch = self.batch_size * self.world_size
        micro = self.start
        while True:
            epoch, position = divmod(micro, per_epoch)
            order = self.epoch_order(epoch)
            for b in range(position, per_epoch):
                chunk = order[b * global_batch : (b + 1) * global_batch]
                mine = chunk[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
                yield [epoch * self.num_samples + int(i) for i in mine]
            micro = (epoch + 1) * per_epoch

    def __len__(self) -> int:  # an "epoch" for progress purposes
        return self.batches_per_epoch


def split_key(key: int, num_samples: int) -> tuple[int, int]:
    """``(epoch, index)`` of a sample key."""
    return divmod(int(key), num_samples)
