"""Knowledge distillation: train a smaller student from a teacher's logits on the dataset.

Loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1−α)·CE(student, labels), over the
train split; both models are exported to ONNX and measured on the test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeport.compress._torch import ModelStats, as_module, export_onnx, model_stats, training_threads
from edgeport.core.artifact import Artifact, Step
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, DatasetError

__all__ = ["DistillOptions", "DistillResult", "digits_student", "distill"]


@dataclass(frozen=True)
class DistillOptions:
    temperature: float = 4.0
    alpha: float = 0.7  # weight of the distillation term (1 − alpha: the label term)
    epochs: int = 30
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0


@dataclass
class DistillResult:
    teacher: ModelStats
    student: ModelStats
    params_ratio: float  # student / teacher
    accuracy_drop: float | None  # teacher − student, test split
    speedup: float | None
    artifact: Artifact  # the student as ONNX, lineage → the teacher's ONNX
    options: DistillOptions
    history: list[float] = field(default_factory=list)  # mean loss per epoch
    kind: str = "distill"


def digits_student(width: int = 8) -> Any:
    """A small CNN for 1×8×8 inputs (≈ 1/10 of the built-in digits model's parameters at width 8)."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.Flatten(), nn.Linear(2 * width * 4 * 4, 10))


def distill_loss(student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float) -> Any:
    import torch.nn.functional as F

    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                    reduction="batchmean") * (t * t)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


def _train(student: Any, teacher: Any, data: Dataset, opts: DistillOptions,
           loss_fn: Callable[..., Any]) -> list[float]:
    import torch

    train = data.split("train")
    if train.labels is None:
        raise DatasetError(f"dataset {data.name!r} has no labels", fix="distillation needs a labelled train split")
    x = torch.from_numpy(next(iter(train.inputs.values())))
    y = torch.from_numpy(train.labels).long()
    teacher.eval()
    with torch.no_grad():
        t_logits = torch.cat([teacher(x[i:i + 256]) for i in range(0, len(x), 256)])
    gen = torch.Generator().manual_seed(opts.seed)
    optim = torch.optim.Adam(student.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=max(opts.epochs, 1))
    history: list[float] = []
    student.train()
    for _ in range(opts.epochs):
        perm = torch.randperm(len(x), generator=gen)
        total, batches = 0.0, 0
        for i in range(0, len(x), opts.batch):
            idx = perm[i:i + opts.batch]
            optim.zero_grad()
            loss = loss_fn(student(x[idx]), t_logits[idx], y[idx], opts.temperature, opts.alpha)
            loss.backward()
            optim.step()
            total += float(loss.detach())
            batches += 1
        sched.step()
        history.append(total / max(batches, 1))
    student.eval()
    return history


def distill(teacher: Any, student: Any, data: Dataset, out: str | Path, options: DistillOptions | None = None, *,
            threads: int = 1, measure_speed: bool = True,
            loss_fn: Callable[..., Any] | None = None) -> tuple[Any, DistillResult]:
    """Train ``student`` from ``teacher`` (``nn.Module`` or ``.pt2``) on ``data``; export and measure both.

    ``loss_fn(student_logits, teacher_logits, labels, T, alpha)`` replaces the logit-distillation loss.
    """
    import torch

    opts = options or DistillOptions()
    if opts.temperature <= 0 or not 0 <= opts.alpha <= 1:
        raise ConfigError(f"temperature {opts.temperature} / alpha {opts.alpha} out of range",
                          fix="temperature > 0 and 0 ≤ alpha ≤ 1")
    teacher_m = as_module(teacher).eval()
    out = Path(out)
    teacher_art = export_onnx(teacher_m, data, out.with_name(f"{out.stem}.teacher.onnx"))
    t_stats = model_stats(teacher_m, teacher_art, data, threads=threads, measure_speed=measure_speed)
    torch.manual_seed(opts.seed)
    start = time.perf_counter()
    with training_threads():
        history = _train(student, teacher_m, data, opts, loss_fn or distill_loss)
    seconds = time.perf_counter() - start
    student_art = export_onnx(student, data, out)
    s_stats = model_stats(student, student_art, data, threads=threads, measure_speed=measure_speed)
    drop = None if t_stats.accuracy is None or s_stats.accuracy is None else t_stats.accuracy - s_stats.accuracy
    speedup = None
    if t_stats.latency and s_stats.latency and s_stats.latency.median_ms:
        speedup = t_stats.latency.median_ms / s_stats.latency.median_ms
    metrics = {"params": s_stats.params, "parent_params": t_stats.params, "size_bytes": s_stats.size_bytes,
               "parent_size_bytes": t_stats.size_bytes, "accuracy": s_stats.accuracy,
               "parent_accuracy": t_stats.accuracy, "accuracy_drop": drop, "split": "test"}
    artifact = teacher_art.derive(student_art.path, step=Step("train", "distill", asdict(opts), seconds, metrics),
                                  inputs=student_art.inputs, outputs=student_art.outputs,
                                  metadata=dict(student_art.metadata))
    return student, DistillResult(teacher=t_stats, student=s_stats, params_ratio=s_stats.params / t_stats.params,
                                  accuracy_drop=drop, speedup=speedup, artifact=artifact, options=opts,
                                  history=history)
