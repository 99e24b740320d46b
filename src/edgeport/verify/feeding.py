"""Feeding one side of a verification: the dataset in the batches its model accepts.

A model declared with a fixed batch gets that batch (a short last batch padded, then trimmed). A model
declared with a free batch gets the fixed batch of its peer when the peer has one: a converter that
relaxed the batch of a batch-1 network (OpenVINO's dynamic batch, TFLite's ``-1`` signature) did not make
its graph batch-agnostic — ddddocr's detector reshapes to ``[1, -1, 6]`` inside, so 16 stacked samples came
back as one (1, 56784, 6) tensor. Any batched run whose output loses the batch axis that way is run
again one sample at a time, and said so.

Per-feed outputs are joined along the sample axis; an output with no batch axis of its own (a recurrent
state, a fixed-size summary) is stacked per sample instead, so both sides hold one entry per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import InputError

__all__ = ["DEFAULT_BATCH", "FedOutputs", "fixed_batch", "run_in_batches"]

DEFAULT_BATCH = 64  # a model with a free batch dimension is fed this many samples at a time


def fixed_batch(specs: Sequence[TensorSpec]) -> int | None:
    """The batch a model's inputs declare (their static leading dim), ``None`` when it is free."""
    static = [s.shape[0] for s in specs if s.shape and isinstance(s.shape[0], int) and s.shape[0] > 0]
    return static[0] if static else None


@dataclass
class FedOutputs:
    outputs: dict[str, np.ndarray]
    batch: int  # samples per run
    lines: list[str] = field(default_factory=list)  # how it was fed, when not the obvious way


class _LostBatchAxis(Exception):
    """A batched run returned an output without one entry per sample."""

    def __init__(self, name: str, shape: tuple[int, ...], batch: int) -> None:
        super().__init__(name)
        self.name, self.shape, self.batch = name, shape, batch


def _run(rt: Any, data: Dataset, specs: Sequence[TensorSpec], batch: int, pad: bool) -> dict[str, np.ndarray]:
    collected: dict[str, list[np.ndarray]] = {}
    for start, feeds in zip(range(0, data.count, batch), data.batches(specs, batch)):
        n = min(batch, data.count - start)
        if n < batch and pad:  # a fixed-batch model and a short last batch: pad with the last sample, then trim
            feeds = {k: np.concatenate([v, np.repeat(v[-1:], batch - n, axis=0)]) for k, v in feeds.items()}
        fed = batch if pad else n
        for name, value in rt.run(feeds).items():
            value = np.asarray(value)
            if value.ndim and value.shape[0] == fed:
                part = value[:n]
            elif fed == 1:
                part = value[None]  # no batch axis of its own: one entry per sample
            else:
                raise _LostBatchAxis(name, tuple(value.shape), fed)
            collected.setdefault(name, []).append(part)
    return {name: np.concatenate(parts) for name, parts in collected.items()}


def run_in_batches(rt: Any, data: Dataset, side: str, peer_batch: int | None = None) -> FedOutputs:
    """Run every sample of ``data`` through the open runtime ``rt``, in the batches its model accepts."""
    specs = rt.input_specs()
    own = fixed_batch(specs)
    lines: list[str] = []
    if own is not None:
        batch = own
    elif peer_batch is not None:
        batch = peer_batch
        lines.append(f"{side} fed {batch} sample(s) per run: its batch is free, but the other model's is fixed "
                     f"at {batch}")
    else:
        batch = DEFAULT_BATCH
    batch = max(1, min(batch, data.count)) if own is None else batch
    if data.fed_whole(specs):  # samples are whole feeds (a scalar, a state): one per run
        batch, own = 1, None
    try:
        return FedOutputs(_run(rt, data, specs, batch, pad=own is not None), batch, lines)
    except _LostBatchAxis as lost:
        if own is not None:
            raise InputError(f"{side} output {lost.name!r} came back {lost.shape} for a batch of {lost.batch}: "
                             f"it has no batch axis, so its samples cannot be told apart",
                             fix="export the model with batch 1, or with the batch as the outputs' first axis") \
                from None
        lines.append(f"{side} output {lost.name!r} came back {lost.shape} for {lost.batch} samples: the graph "
                     f"fixes its batch, so samples were fed one at a time")
        return FedOutputs(_run(rt, data, specs, 1, pad=False), 1, lines)
