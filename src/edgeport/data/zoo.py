"""Reference model zoo: ResNet-18 and MobileNetV2 written by hand, topology identical to torchvision.

torchvision is not importable everywhere (its wheels are often CUDA-only builds), so the two
reference networks are written here layer for layer: same modules, same parameter names
(``state_dict`` keys), same parameter counts (ResNet-18: 11,689,512; MobileNetV2: 3,504,872),
same forward pass. Weights are seeded (``torch.manual_seed``) with torchvision's initialisation;
optionally the BatchNorm running statistics are then calibrated on seeded random inputs so the
eval-mode network keeps activations in a sensible range (useful for numeric comparisons).

``export_pt2`` writes a module as a ``torch.export`` ``.pt2`` file (dynamic batch when possible),
atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeport._optional import require

if TYPE_CHECKING:
    import torch

__all__ = ["MOBILENET_V2_PARAMS", "RESNET18_PARAMS", "export_pt2", "mobilenet_v2", "resnet18"]

RESNET18_PARAMS = 11_689_512
MOBILENET_V2_PARAMS = 3_504_872


def _nn() -> Any:
    return require("torch", "torch", "the reference model zoo").nn


# --------------------------------------------------------------------------- ResNet-18

def _basic_block_cls() -> Any:
    nn = _nn()

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    return BasicBlock


def _resnet_cls() -> Any:
    nn = _nn()
    torch = require("torch", "torch", "the reference model zoo")
    block = _basic_block_cls()

    class ResNet(nn.Module):
        def __init__(self, layers: Sequence[int], num_classes: int = 1000) -> None:
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, layers[0])
            self.layer2 = self._make_layer(128, layers[1], stride=2)
            self.layer3 = self._make_layer(256, layers[2], stride=2)
            self.layer4 = self._make_layer(512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> Any:
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    return ResNet


# --------------------------------------------------------------------------- MobileNetV2

def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # do not round down by more than 10%
        new_v += divisor
    return new_v


def _conv_bn_act(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> Any:
    """torchvision's ``Conv2dNormActivation`` (Conv2d, BatchNorm2d, ReLU6) as a Sequential."""
    nn = _nn()
    padding = (kernel - 1) // 2
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, stride, padding, groups=groups, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU6(inplace=True))


def _inverted_residual_cls() -> Any:
    nn = _nn()

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
            super().__init__()
            self.stride = stride
            hidden = int(round(inp * expand_ratio))
            self.use_res_connect = stride == 1 and inp == oup
            layers: list[Any] = []
            if expand_ratio != 1:
                layers.append(_conv_bn_act(inp, hidden, kernel=1))
            layers += [_conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                       nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
            self.conv = nn.Sequential(*layers)
            self.out_channels = oup

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    return InvertedResidual


def _mobilenet_v2_cls() -> Any:
    nn = _nn()
    torch = require("torch", "torch", "the reference model zoo")
    block = _inverted_residual_cls()

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8,
                     dropout: float = 0.2) -> None:
            super().__init__()
            settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                        [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
            input_channel = _make_divisible(32 * width_mult, round_nearest)
            self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
            features: list[Any] = [_conv_bn_act(3, input_channel, stride=2)]
            for t, c, n, s in settings:
                output_channel = _make_divisible(c * width_mult, round_nearest)
                for i in range(n):
                    features.append(block(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t))
                    input_channel = output_channel
            features.append(_conv_bn_act(input_channel, self.last_channel, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV2


# --------------------------------------------------------------------------- public builders

def _finish(model: Any, calibrate_bn: bool, resolution: int, seed: int) -> Any:
    """Eval mode; optionally set BN running stats from one seeded random batch (no weight change)."""
    torch = require("torch", "torch", "the reference model zoo")
    if calibrate_bn:
        nn = _nn()
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average: one batch sets the statistics exactly
        gen = torch.Generator().manual_seed(seed + 1)
        model.train()
        with torch.no_grad():
            model(torch.randn(4, 3, resolution, resolution, generator=gen))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1
    return model.eval()


def resnet18(*, num_classes: int = 1000, seed: int = 0, calibrate_bn: bool = False,
             resolution: int = 224) -> torch.nn.Module:
    """torchvision-identical ResNet-18 (11,689,512 parameters for 1000 classes), seeded, eval mode.

    ``calibrate_bn`` sets the BatchNorm running statistics from one seeded random batch at
    ``resolution`` so eval-mode activations stay well scaled.
    """
    torch = require("torch", "torch", "the reference model zoo")
    torch.manual_seed(seed)
    return _finish(_resnet_cls()([2, 2, 2, 2], num_classes=num_classes), calibrate_bn, resolution, seed)


def mobilenet_v2(*, num_classes: int = 1000, width_mult: float = 1.0, seed: int = 0, calibrate_bn: bool = False,
                 resolution: int = 224) -> torch.nn.Module:
    """torchvision-identical MobileNetV2 (3,504,872 parameters for 1000 classes), seeded, eval mode."""
    torch = require("torch", "torch", "the reference model zoo")
    torch.manual_seed(seed)
    model = _mobilenet_v2_cls()(num_classes=num_classes, width_mult=width_mult)
    return _finish(model, calibrate_bn, resolution, seed)


def export_pt2(model: torch.nn.Module, shape: Sequence[int], path: str | Path, *,
               dynamic_batch: bool = True, max_batch: int = 1024) -> Path:
    """Write ``model`` (eval mode) as a ``torch.export`` ``.pt2`` for one float32 input of ``shape``.

    The batch dimension is exported dynamic when ``dynamic_batch`` (falls back to static when
    the model does not allow it). The file is written to a temporary name and renamed into place.
    """
    torch = require("torch", "torch", "exporting a PyTorch model")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    shape = tuple(int(d) for d in shape)
    example = (torch.zeros((max(2, shape[0]), *shape[1:])) if dynamic_batch else torch.zeros(shape),)
    program = None
    if dynamic_batch:
        try:
            batch = torch.export.Dim("batch", min=1, max=max_batch)
            program = torch.export.export(model, example, dynamic_shapes=({0: batch},))
        except Exception:  # data-dependent batch handling: export static instead
            program = None
    if program is None:
        program = torch.export.export(model, (torch.zeros(shape),))
    fd, tmp = tempfile.mkstemp(suffix=".pt2", dir=out.parent)
    os.close(fd)
    try:
        torch.export.save(program, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
