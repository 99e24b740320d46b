"""Latency and energy estimates that say how far to trust them.

A per-node cost model (``costmodel``) turns a graph placed on a target's execution paths into a
latency; ``calibrate`` measures a generated family of small networks on a runtime and fits the model's
efficiency and overhead terms to them (``fit``); every estimate carries an interval and a label from
that fit's leave-one-out residuals, or the profile's uncalibrated spread (``estimate``). ``energy``
turns a latency into mJ per inference and reads RAPL where the host exposes it.

This package sits with ``analysis`` (``check`` and ``compat`` call it) and ``bench`` (calibration
measures through the benchmark harness).
"""
