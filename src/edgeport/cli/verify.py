"""``edgeport verify REF TEST --data D``: compare two artifacts of any formats on real data."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import (DEVICE_OPTION, INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, TOKEN_FILE_OPTION, emit,
                                  use_token_file)

__all__ = ["register", "tolerance_overrides"]


def tolerance_overrides(atol: float | None, rtol: float | None, min_cosine: float | None,
                        min_top1: float | None, max_accuracy_drop: float | None = None,
                        min_layer_snr: float | None = None) -> Any:
    from edgeport.verify.tolerance import ToleranceOverrides

    return ToleranceOverrides(atol=atol, rtol=rtol, min_cosine=min_cosine, min_top1_agreement=min_top1,
                              max_accuracy_drop=max_accuracy_drop, min_layer_snr_db=min_layer_snr)


def load_data(spec: str | None, artifact: Any) -> Any:
    from edgeport import load_dataset
    from edgeport.data.synthetic import synthetic_data

    if spec is None:
        return synthetic_data(artifact, count=64)
    return load_dataset(spec)


def shaped(plan: Any, reference: str, others: list[str]) -> tuple[Any, list[Any]]:
    """The reference and the other models loaded with the ``--shape``/``--input`` plan. A positional entry
    names the reference's only input; each other model takes the entries for the inputs it shares with it."""
    from edgeport import load_artifact

    import dataclasses

    ref = load_artifact(reference).with_inputs(plan)
    named = plan.named(ref.inputs) if ref.inputs else plan

    def for_other(artifact: Any) -> Any:
        # a converted model's fixed input needs no shape, and may be laid out otherwise (NHWC .tflite from an
        # NCHW .onnx): the reference's shapes go only to the inputs the other model leaves open
        sub = named.only(s.name for s in artifact.inputs)
        static = {s.name for s in artifact.inputs if s.is_static}
        return artifact.with_inputs(dataclasses.replace(
            sub, shapes={k: v for k, v in sub.shapes.items() if k not in static}))

    return ref, [for_other(load_artifact(path)) for path in others]


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify_cmd(
        ctx: typer.Context,
        reference: str = typer.Argument(..., help="Reference model (any format; .pt2 runs through PyTorch)."),
        test: str = typer.Argument(..., help="Model under test (any format)."),
        data: str = typer.Option(None, "--data", "-d", help="Dataset: built-in name (digits) or .npz file."),
        split: str = typer.Option("test", help="Dataset split to compare on (train/calibration/test/all)."),
        max_samples: int = typer.Option(None, "--max-samples", help="Use at most this many samples."),
        localize: bool = typer.Option(False, "--localize", help="Find the first node where the test diverges."),
        fail_on_divergence: bool = typer.Option(False, "--fail-on-divergence",
                                                help="Also exit 1 when --localize finds a divergent layer."),
        precision: str = typer.Option(None, help="Test precision for default tolerances (fp32/fp16/int8); "
                                                 "inferred from the model when omitted."),
        atol: float = typer.Option(None, "--atol", help="Override the absolute tolerance."),
        rtol: float = typer.Option(None, "--rtol", help="Override the relative tolerance."),
        min_cosine: float = typer.Option(None, "--min-cosine", help="Override the minimum cosine similarity."),
        min_top1: float = typer.Option(None, "--min-top1", help="Override the minimum top-1 agreement (0-1)."),
        max_accuracy_drop: float = typer.Option(None, "--max-accuracy-drop", help="Allowed accuracy drop (0-1)."),
        min_layer_snr: float = typer.Option(None, "--min-layer-snr", help="Localisation: divergent below this "
                                                                          "SNR (dB)."),
        reference_runtime: str = typer.Option(None, "--reference-runtime", help="Runtime for the reference."),
        test_runtime: str = typer.Option(None, "--test-runtime", help="Runtime for the test model (with --device: "
                                                                      "the runtime on the device)."),
        mcu_target: str = typer.Option("host", "--mcu-target", help="An MCU C project under test runs as: host "
                                                                   "(gcc build) or qemu (Cortex-M under QEMU)."),
        device: str = DEVICE_OPTION,
        token_file: str = TOKEN_FILE_OPTION,
        shapes: list[str] = SHAPE_OPTION,
        values: list[str] = INPUT_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Run the same real data through REF and TEST and judge every output (exit 1 outside tolerance)."""
        from edgeport import verify
        from edgeport.errors import VerificationFailed
        from edgeport.report.terminal_verify import render_verification

        from edgeport import InputPlan

        use_token_file(token_file)
        ref, (tst,) = shaped(InputPlan.parse(shapes, values), reference, [test])
        dataset = load_data(data, ref)
        if tst.format.value == "mcu-c":  # generated integer C: the criterion is bit-exactness, not a tolerance
            _bit_exact(ctx, ref, tst, dataset, split if data is not None else "all", max_samples, mcu_target, as_json)
            return
        test_options = None
        if device:  # the test side runs on the device; the reference stays on this host
            from edgeport.runtimes.base import device_runtime

            cls, test_options = device_runtime(device, runtime=test_runtime)
            test_runtime = cls.name
        result = verify(ref, tst, dataset, split=split if data is not None else "all", max_samples=max_samples,
                        reference_runtime=reference_runtime, test_runtime=test_runtime, test_options=test_options,
                        precision=precision,
                        overrides=tolerance_overrides(atol, rtol, min_cosine, min_top1, max_accuracy_drop,
                                                      min_layer_snr),
                        localize=localize or fail_on_divergence)
        if data is None:
            result.warnings.append("no --data given: compared on random inputs, not real data")
        diverged = result.localization is not None and result.localization.first_divergent is not None
        ok = result.passed and not (fail_on_divergence and diverged)
        emit(ctx, "verification", f"{ref.name} vs {tst.name}", result, render_verification, as_json, passed=ok)
        if not result.passed:
            failures = result.failures()
            raise VerificationFailed(f"{tst.name} is outside tolerance against {ref.name}: {failures[0]}"
                                     + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""),
                                     fix="see the table above; --localize finds the first divergent layer")
        if not ok:
            raise VerificationFailed(f"{tst.name}: {result.localization.summary()}",
                                     fix="outputs pass but an intermediate layer left tolerance")


def _bit_exact(ctx: typer.Context, ref: Any, tst: Any, dataset: Any, split: str, max_samples: int | None,
               target: str, as_json: bool) -> None:
    from edgeport.errors import VerificationFailed
    from edgeport.report.terminal_verify import render_bit_exact
    from edgeport.verify.bitexact import bit_exact

    result = bit_exact(ref, tst, dataset, split=split, max_samples=max_samples, target=target)
    emit(ctx, "bit-exact", f"{ref.name} vs {tst.name}", result, render_bit_exact, as_json, passed=result.exact)
    if not result.exact:
        raise VerificationFailed(f"{tst.name} is not bit-exact against {ref.name}: {result.summary()}",
                                 fix="a kernel's integer arithmetic differs from TFLite's reference kernels")
