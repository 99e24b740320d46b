"""Profile the reference nets (hand-written, torchvision-identical ResNet-18 / MobileNetV2) exported to ONNX.

References: ResNet-18 at 224 = 1.814 GMAC, 11,689,512 params; MobileNetV2 at 224 = 300.8 MMAC,
3,504,872 params (torch FlopCounterMode counts: conv + linear MACs). The MACs are also checked
against FlopCounterMode run on the very module that was exported.

``torch.onnx.export`` folds BatchNorm into the convolutions by default (γ, β of each BN become
one conv bias), so that graph holds fewer parameters than the module; the profile counts the
graph as it is. Exact torchvision parameter counts are checked on an export that keeps the
BatchNormalization nodes (their running statistics are buffers, not parameters), and the folded
graph is checked against the module's count minus one value per folded BN channel.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

from edgeport.analysis.profile import profile  # noqa: E402
from edgeport.data import zoo  # noqa: E402

REFERENCES = {  # name: (builder, reference MACs, reference params)
    "resnet18": (zoo.resnet18, 1.814e9, 11_689_512),
    "mobilenet_v2": (zoo.mobilenet_v2, 300.8e6, 3_504_872),
}


def _export(model, path, *, fold_bn: bool) -> None:
    program = torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), dynamo=True, external_data=False,
                                optimize=fold_bn, verbose=False)
    program.save(str(path), external_data=False)


@pytest.fixture(scope="module", params=sorted(REFERENCES))
def reference(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(name, module, torch MACs, folded .onnx, BN-kept .onnx), exported once per module.

    Four exports take ~20 s on a quiet 2-core machine, so the tests using them are marked slow.
    """
    name = request.param
    builder = REFERENCES[name][0]
    model = builder(calibrate_bn=True)  # realistic BN statistics: folding yields non-zero conv biases
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224))
    folder = tmp_path_factory.mktemp(name)
    folded, kept = folder / f"{name}.onnx", folder / f"{name}-bn.onnx"
    _export(model, folded, fold_bn=True)
    _export(model, kept, fold_bn=False)
    return name, model, counter.get_total_flops() // 2, folded, kept


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_torchscript_export_with_shared_constants_counts_like_the_module(name: str, tmp_path) -> None:
    """The TorchScript exporter stores equal-valued tensors once and feeds the rest through Identity."""
    model = REFERENCES[name][0]()  # BN γ=1, β=0 everywhere: many identical tensors
    path = tmp_path / f"{name}-ts.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, opset_version=17,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    result = profile(path)
    assert result.params == REFERENCES[name][2]
    bn_channels = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert result.buffers == 2 * bn_channels
    assert result.weight_bytes < 4 * (result.params + result.buffers)  # shared storage is counted once
    assert abs(result.macs - REFERENCES[name][1]) / REFERENCES[name][1] < 0.01


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_zoo_parameter_counts_equal_torchvision(name: str) -> None:
    builder, _, params = REFERENCES[name]
    assert sum(p.numel() for p in builder().parameters()) == params


@pytest.mark.slow
def test_macs_match_reference_and_flop_counter(reference) -> None:
    name, _, torch_macs, folded, kept = reference
    ref_macs = REFERENCES[name][1]
    for path in (folded, kept):
        result = profile(path)
        assert result.macs == torch_macs  # same definition as FlopCounterMode: conv + linear MACs
        assert abs(result.macs - ref_macs) / ref_macs < 0.01
        assert result.flops > 2 * result.macs  # pooling, activations, adds counted on top
        assert result.unsupported_ops == [] and result.inexact_nodes == 0
        assert result.file_bytes == path.stat().st_size
        assert result.symbolic_dims == []


@pytest.mark.slow
def test_params_exact_on_graph_that_keeps_batchnorm(reference) -> None:
    name, model, _, _, kept = reference
    result = profile(kept)
    assert result.params == REFERENCES[name][2] == sum(p.numel() for p in model.parameters())
    bn_channels = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert result.buffers == 2 * bn_channels  # running mean + variance
    assert result.weight_bytes >= 4 * (result.params + result.buffers)


@pytest.mark.slow
def test_params_on_bn_folded_graph_match_the_folded_module(reference) -> None:
    name, model, _, folded, _ = reference
    result = profile(folded)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    convs_have_bias = any(m.bias is not None for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert not convs_have_bias
    # each folded BN: γ and β (2C parameters) become one conv bias (C); the exporter's optimiser
    # also drops all-zero biases (MobileNetV2's classifier bias is initialised to zero)
    zero_biases = sum(m.bias.numel() for m in model.modules()
                      if isinstance(m, torch.nn.Linear) and m.bias is not None and not m.bias.any())
    expected = sum(p.numel() for p in model.parameters()) - sum(m.num_features for m in bns) - zero_biases
    assert result.params == expected
    assert result.buffers == 0
    assert not any(r.op_type == "BatchNormalization" for r in result.nodes)


@pytest.mark.slow
def test_top_layers_and_op_totals_add_up(reference) -> None:
    _, _, _, folded, _ = reference
    result = profile(folded)
    assert sum(o.macs for o in result.op_types) == result.macs
    assert sum(o.flops for o in result.op_types) == result.flops
    assert {o.op_type for o in result.op_types if o.macs} <= {"Conv", "Gemm", "MatMul"}
    top = result.top_layers(3)
    assert top[0].macs >= top[1].macs >= top[2].macs > 0
    assert result.largest_activation is not None and result.largest_activation.bytes == max(
        a.bytes for a in result.activations)


@pytest.mark.slow
def test_tflite_model_profiles_with_tflite_rules(tmp_path) -> None:
    """A real .tflite (TensorFlow converter): CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED counted by layout."""
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    import numpy as np

    rng = np.random.default_rng(0)
    conv_w = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32))  # HWIO
    dw_w = tf.constant(rng.standard_normal((3, 3, 8, 2)).astype(np.float32))  # HW C M
    fc_w = tf.constant(rng.standard_normal((16, 10)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 16, 16, 3], tf.float32)])
    def net(x):
        y = tf.nn.relu(tf.nn.conv2d(x, conv_w, strides=1, padding="SAME"))
        y = tf.nn.depthwise_conv2d(y, dw_w, strides=[1, 2, 2, 1], padding="SAME")
        y = tf.reduce_mean(y, axis=[1, 2])
        return tf.matmul(y, fc_w)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([net.get_concrete_function()], net)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(converter.convert())
    result = profile(path)
    assert result.format == "tflite"
    by_op = {o.op_type: o.macs for o in result.op_types}
    assert by_op["CONV_2D"] == 16 * 16 * 8 * (3 * 3 * 3)
    assert by_op["DEPTHWISE_CONV_2D"] == 8 * 8 * 16 * 9
    assert by_op["FULLY_CONNECTED"] == 10 * 16
    assert result.macs == sum(by_op.values())
    # the converter gives CONV_2D and DEPTHWISE_CONV_2D a (zero) bias: 8 + 16 parameters
    assert result.params == 3 * 3 * 3 * 8 + 3 * 3 * 16 + 16 * 10 + 8 + 16


def test_export_pt2_writes_a_dynamic_batch_program(tmp_path) -> None:
    from edgeport import Format, load_artifact

    model = zoo.resnet18(num_classes=10)
    path = zoo.export_pt2(model, (1, 3, 32, 32), tmp_path / "sub" / "r18.pt2")
    assert sorted(p.name for p in path.parent.iterdir()) == ["r18.pt2"]  # no temporary file left behind
    artifact = load_artifact(path)
    assert artifact.format is Format.TORCH_EXPORT
    (spec,) = artifact.inputs
    assert isinstance(spec.shape[0], str) and spec.shape[1:] == (3, 32, 32)  # dynamic batch
    program = torch.export.load(str(path))
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), model(x))
