"""Pruning with fine-tuning, measured: unstructured magnitude pruning and structured channel pruning.

* ``unstructured``: global L1 magnitude pruning of Conv/Linear weights (``torch.nn.utils.prune``),
  fine-tuned with the masks, then made permanent. The network keeps its shape: the dense file
  is as large and, on CPUs, as fast as before — only the gzip size shrinks. The report shows it.
* ``structured``: removes whole output channels (Conv) and hidden units (Linear) by L1 norm and
  rebuilds a smaller ``nn.Sequential`` — Conv→BN→ReLU→Conv chains, Conv→…→Flatten→Linear and
  Linear→ReLU→Linear are handled; the last layer's outputs are never pruned.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeport.compress._torch import ModelStats, as_module, export_onnx, model_stats, training_threads
from edgeport.core.artifact import Artifact, Step
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, UnsupportedError

__all__ = ["PruneOptions", "PruneResult", "prune", "prune_structured", "prune_unstructured"]

_PASS_THROUGH = ("ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Hardswish", "Sigmoid", "Tanh", "MaxPool2d",
                 "AvgPool2d", "Dropout", "Dropout2d", "Identity")


@dataclass(frozen=True)
class PruneOptions:
    method: str = "structured"  # structured | unstructured
    amount: float = 0.5  # fraction of channels (structured) or weights (unstructured) removed
    finetune_epochs: int = 10
    lr: float = 1e-3
    batch: int = 64
    seed: int = 0
    prune_linear: bool = True  # structured: also prune hidden Linear units


@dataclass
class PruneResult:
    method: str
    amount: float
    before: ModelStats
    after: ModelStats
    params_ratio: float  # after / before (structured: real parameters; unstructured: non-zero ones)
    accuracy_drop: float | None  # before − after, test split
    speedup: float | None  # before median / after median latency (> 1 = faster)
    artifact: Artifact  # the pruned model as ONNX, lineage → the original's ONNX
    layers: list[str] = field(default_factory=list)  # what changed, per layer
    notes: list[str] = field(default_factory=list)
    finetune_epochs: int = 0
    kind: str = "prune"


def _slice_conv(conv: Any, out_idx: Any = None, in_idx: Any = None) -> Any:
    import torch.nn as nn

    w = conv.weight.data
    b = conv.bias.data if conv.bias is not None else None
    if out_idx is not None:
        w = w[out_idx]
        b = b[out_idx] if b is not None else None
    if in_idx is not None:
        w = w[:, in_idx]
    new = nn.Conv2d(w.shape[1], w.shape[0], conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    1, b is not None, conv.padding_mode)
    new.weight.data.copy_(w)
    if b is not None:
        new.bias.data.copy_(b)
    return new


def _slice_bn(bn: Any, idx: Any) -> Any:
    import torch.nn as nn

    new = nn.BatchNorm2d(len(idx), bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    if bn.affine:
        new.weight.data.copy_(bn.weight.data[idx])
        new.bias.data.copy_(bn.bias.data[idx])
    if bn.track_running_stats:
        new.running_mean.copy_(bn.running_mean[idx])
        new.running_var.copy_(bn.running_var[idx])
        new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new


def _slice_linear(lin: Any, out_idx: Any = None, in_idx: Any = None) -> Any:
    import torch.nn as nn

    w = lin.weight.data
    b = lin.bias.data if lin.bias is not None else None
    if out_idx is not None:
        w = w[out_idx]
        b = b[out_idx] if b is not None else None
    if in_idx is not None:
        w = w[:, in_idx]
    new = nn.Linear(w.shape[1], w.shape[0], b is not None)
    new.weight.data.copy_(w)
    if b is not None:
        new.bias.data.copy_(b)
    return new


def _keep(weight: Any, amount: float) -> Any:
    import torch

    n = weight.shape[0]
    count = max(1, int(round(n * (1 - amount))))
    norms = weight.detach().abs().reshape(n, -1).sum(1)
    return torch.sort(torch.topk(norms, count).indices).values


def _consumer(layers: list[Any], i: int) -> tuple[int | None, int | None, bool]:
    """For the producer at ``i``: (BN index, consumer index, through Flatten) or (…, None, …) if unprunable."""
    import torch.nn as nn

    bn: int | None = None
    flat = False
    for j in range(i + 1, len(layers)):
        layer = layers[j]
        name = type(layer).__name__
        if isinstance(layer, nn.BatchNorm2d) and bn is None and not flat:
            bn = j
        elif name in _PASS_THROUGH:
            continue
        elif isinstance(layer, nn.Flatten):
            flat = True
        elif isinstance(layer, nn.Conv2d) and layer.groups == 1 and not flat:
            return bn, j, False
        elif isinstance(layer, nn.Linear):
            return bn, j, flat
        else:
            return bn, None, flat
    return bn, None, flat


def prune_structured(model: Any, amount: float, *, prune_linear: bool = True) -> tuple[Any, list[str]]:
    """A smaller copy of the ``nn.Sequential`` ``model`` with ``amount`` of its channels removed."""
    import torch
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        raise UnsupportedError(f"structured pruning rebuilds nn.Sequential networks, not {type(model).__name__}",
                               fix="wrap the network as nn.Sequential, or use method='unstructured'")
    layers = [copy.deepcopy(m) for m in model]
    changes: list[str] = []
    for i in range(len(layers)):
        producer = layers[i]
        is_conv = isinstance(producer, nn.Conv2d) and producer.groups == 1
        is_lin = isinstance(producer, nn.Linear) and prune_linear
        if not (is_conv or is_lin):
            continue
        bn, j, flat = _consumer(layers, i)
        if j is None or (is_lin and bn is not None):
            continue
        keep = _keep(producer.weight, amount)
        before = producer.weight.shape[0]
        layers[i] = _slice_conv(producer, out_idx=keep) if is_conv else _slice_linear(producer, out_idx=keep)
        if bn is not None:
            layers[bn] = _slice_bn(layers[bn], keep)
        consumer = layers[j]
        if isinstance(consumer, nn.Conv2d):
            layers[j] = _slice_conv(consumer, in_idx=keep)
        elif flat:
            spatial = consumer.in_features // before
            if spatial * before != consumer.in_features:
                raise UnsupportedError(f"layer {j}: Linear in_features {consumer.in_features} is not "
                                       f"channels {before} × spatial size", fix="use method='unstructured'")
            idx = (keep[:, None] * spatial + torch.arange(spatial)[None, :]).reshape(-1)
            layers[j] = _slice_linear(consumer, in_idx=idx)
        else:
            layers[j] = _slice_linear(consumer, in_idx=keep)
        changes.append(f"layer {i} {type(producer).__name__}: {before} → {len(keep)} outputs "
                       f"(layer {j} {type(consumer).__name__} inputs sliced{', via Flatten' if flat else ''})")
    return nn.Sequential(*layers), changes


def prune_unstructured(model: Any, amount: float) -> tuple[Any, list[Any]]:
    """A copy of ``model`` with global L1 masks on every Conv/Linear weight (call ``finalize`` after tuning)."""
    import torch.nn as nn
    import torch.nn.utils.prune as tprune

    pruned = copy.deepcopy(model)
    targets = [(m, "weight") for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d, nn.Linear))]
    if not targets:
        raise UnsupportedError("no Conv/Linear weights to prune", fix="pass a network with Conv or Linear layers")
    tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=amount)
    return pruned, targets


def prune(model: Any, data: Dataset, out: str | Path, options: PruneOptions | None = None, *,
          threads: int = 1, measure_speed: bool = True, train_fn: Any = None) -> tuple[Any, PruneResult]:
    """Prune ``model`` (an ``nn.Module`` or ``.pt2``), fine-tune on ``data``'s train split, export and measure.

    ``train_fn(module, data, epochs)`` replaces the built-in classification fine-tuning loop.
    Returns the pruned module and the measured result (its ONNX artifact written to ``out``).
    """
    import torch
    import torch.nn.utils.prune as tprune

    from edgeport.data.examples import train_classifier

    opts = options or PruneOptions()
    if opts.method not in ("structured", "unstructured"):
        raise ConfigError(f"pruning method {opts.method!r} is unknown", fix="use structured or unstructured")
    if not 0 < opts.amount < 1:
        raise ConfigError(f"pruning amount {opts.amount} is outside (0, 1)", fix="e.g. amount=0.5")
    module = as_module(model).eval()
    out = Path(out)
    before_art = export_onnx(module, data, out.with_name(f"{out.stem}.original.onnx"))
    before = model_stats(module, before_art, data, threads=threads, measure_speed=measure_speed)
    start = time.perf_counter()
    torch.manual_seed(opts.seed)
    targets: list[Any] = []
    if opts.method == "structured":
        pruned, changes = prune_structured(module, opts.amount, prune_linear=opts.prune_linear)
    else:
        pruned, targets = prune_unstructured(module, opts.amount)
        changes = [f"global L1: {opts.amount:.0%} of Conv/Linear weights zeroed ({len(targets)} tensors)"]
    if opts.finetune_epochs > 0:
        with training_threads():
            if train_fn is not None:
                pruned = train_fn(pruned, data, opts.finetune_epochs) or pruned
            else:
                train_classifier(pruned, data, epochs=opts.finetune_epochs, batch=opts.batch, lr=opts.lr,
                                 seed=opts.seed)
    for m, name in targets:
        tprune.remove(m, name)
    pruned.eval()
    seconds = time.perf_counter() - start
    after_art = export_onnx(pruned, data, out)
    after = model_stats(pruned, after_art, data, threads=threads, measure_speed=measure_speed)
    params_ratio = (after.params / before.params) if opts.method == "structured" else \
        (after.nonzero_params / before.nonzero_params)
    drop = None if before.accuracy is None or after.accuracy is None else before.accuracy - after.accuracy
    speedup = None
    if before.latency is not None and after.latency is not None and after.latency.median_ms:
        speedup = before.latency.median_ms / after.latency.median_ms
    notes: list[str] = []
    if opts.method == "unstructured":
        notes.append(f"unstructured sparsity {after.sparsity:.0%}: the dense ONNX file is "
                     f"{after.size_bytes / before.size_bytes:.2f}× the original (gzip {after.gzip_bytes / before.gzip_bytes:.2f}×)"
                     + (f", measured speed-up ×{speedup:.2f}" if speedup else "")
                     + " — dense CPU kernels do not skip zeros")
    metrics = {"params": after.params, "nonzero_params": after.nonzero_params, "sparsity": after.sparsity,
               "size_bytes": after.size_bytes, "parent_size_bytes": before.size_bytes, "accuracy": after.accuracy,
               "parent_accuracy": before.accuracy, "accuracy_drop": drop, "split": "test",
               "latency_ms": after.latency.median_ms if after.latency else None,
               "parent_latency_ms": before.latency.median_ms if before.latency else None}
    step = Step("pass", f"prune-{opts.method}", asdict(opts), seconds, metrics)
    artifact = before_art.derive(after_art.path, step=step, inputs=after_art.inputs, outputs=after_art.outputs,
                                 metadata={**dict(after_art.metadata), "changes": changes})
    return pruned, PruneResult(method=opts.method, amount=opts.amount, before=before, after=after,
                               params_ratio=params_ratio, accuracy_drop=drop, speedup=speedup, artifact=artifact,
                               layers=changes, notes=notes, finetune_epochs=opts.finetune_epochs)
