"""``edgeport profile MODEL``: parameters, weight bytes, MACs/FLOPs, top layers and per-op-type totals."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit


def _si(n: float, unit: str = "") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.4g} {prefix}{unit}"
    return f"{n:.4g} {unit}".rstrip()


def _bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for factor, prefix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {prefix}"
    return f"{n} B"


def _shape(shape: Any) -> str:
    return "?" if shape is None else "×".join("?" if d is None else str(d) for d in shape) or "scalar"


def _renderer(top: int, by_op: bool) -> Any:
    def render(result: Any, con: Any) -> None:
        from rich.markup import escape
        from rich.table import Table

        summary = Table(title=f"profile: {escape(result.model)} ({result.format}"
                              + (f", opset {result.opset}" if result.opset else "") + ")", show_header=False)
        summary.add_column("", style="bold")
        summary.add_column("", justify="right")
        summary.add_row("parameters", f"{result.params:,}")
        if result.buffers:
            summary.add_row("buffers (BN statistics)", f"{result.buffers:,}")
        summary.add_row("weight bytes", _bytes(result.weight_bytes))
        summary.add_row("file size", _bytes(result.file_bytes))
        summary.add_row("MACs (conv/matmul)", f"{_si(result.macs)}  ({result.macs:,})")
        summary.add_row("FLOPs (all ops)", _si(result.flops))
        summary.add_row("  of which non-MAC ops", _si(result.other_flops))
        summary.add_row("nodes", f"{result.node_count:,}")
        summary.add_row("activations (sum)", _bytes(result.activation_bytes))
        if result.largest_activation is not None:
            la = result.largest_activation
            summary.add_row("largest activation", f"{_bytes(la.bytes)}  {escape(la.name)} {_shape(la.shape)}")
        if result.symbolic_dims:
            summary.add_row("symbolic dims", ", ".join(f"{escape(k)}={v}" for k, v in result.assumed_dims.items())
                            + " (assumed)")
        summary.add_row("shape inference", escape(result.shape_inference))
        con.print(summary)

        if top > 0 and result.nodes:
            layers = Table(title=f"top {min(top, len(result.nodes))} layers by MACs")
            for col in ("#", "node", "op", "MACs", "% MACs", "FLOPs", "params", "output", "act bytes"):
                layers.add_column(col, justify="left" if col in ("node", "op", "output") else "right",
                                  overflow="fold", no_wrap=col not in ("node", "output"))
            for i, row in enumerate(result.top_layers(top), 1):
                share = f"{100 * row.macs / result.macs:.1f}" if result.macs else "—"
                layers.add_row(str(i), escape(row.name), row.op_type, _si(row.macs), share, _si(row.flops),
                               f"{row.params:,}", _shape(row.output_shape) + ("" if row.exact else " ~"),
                               _bytes(row.activation_bytes))
            con.print(layers)

        if by_op or top <= 0:
            ops = Table(title="per op type")
            for col in ("op", "count", "MACs", "% MACs", "FLOPs", "params"):
                ops.add_column(col, justify="left" if col == "op" else "right")
            for o in result.op_types:
                share = f"{100 * o.macs / result.macs:.1f}" if result.macs else "—"
                ops.add_row(o.op_type, str(o.count), _si(o.macs), share, _si(o.flops), f"{o.params:,}")
            con.print(ops)
        for note in result.notes:
            con.print(f"[dim]note: {escape(note)}[/dim]")
        if result.unsupported_ops:
            con.print(f"[yellow]no cost rule for: {escape(', '.join(result.unsupported_ops))} "
                      "(counted as 0)[/yellow]")
        if result.inexact_nodes:
            con.print(f"[yellow]{result.inexact_nodes} node(s) (~) had unknown dims, read as 1[/yellow]")
    return render


def register(app: typer.Typer) -> None:
    @app.command()
    def profile(ctx: typer.Context,
                model: str = typer.Argument(..., help="Model file: .onnx, .tflite, or a torch.export .pt2."),
                top: int = typer.Option(10, "--top", help="Show the N layers with the most MACs (0: none)."),
                by_op: bool = typer.Option(False, "--by-op", help="Also show totals per op type."),
                dims: str = typer.Option(None, "--dims", help="Bind symbolic dims, e.g. batch=8,seq=128 "
                                                              "[default: each 1]."),
                as_json: bool = JSON_OPTION) -> None:
        """Count parameters, weight bytes and MACs/FLOPs of MODEL, per layer and per op type.

        MACs count convolution and matrix-product multiply-accumulates only (like PyTorch's
        FlopCounterMode, whose FLOPs are 2 × MACs); FLOPs add pooling, normalisation,
        elementwise ops, Resize and Softmax.
        """
        from edgeport import profile as run_profile
        from edgeport.cli._common import parse_list
        from edgeport.errors import ConfigError

        bindings: dict[str, int] = {}
        for item in parse_list(dims):
            key, sep, value = item.partition("=")
            if not sep or not value.strip().isdigit() or int(value) < 1:
                raise ConfigError(f"--dims: {item!r} is not NAME=POSITIVE_INT", fix="e.g. --dims batch=8")
            bindings[key.strip()] = int(value)
        result = run_profile(model, dims=bindings or None)
        emit(ctx, "profile", result.model, result, _renderer(top, by_op), as_json)
