"""Values a model's own graph says an input takes, for synthetic feeds made without the user's.

A control input is often compared with a constant before anything else reads it: silero VAD's
rank-0 ``sr`` goes straight into ``Equal(sr, 16000)`` and an ``If`` on the result, and the other
branch fails for any other rate. Random small ints would exercise neither branch meaningfully, so
an integer input of at most one element that an equality compares with a constant is fed that
constant (the first one found). The user's ``--input`` always wins (``InputPlan.with_defaults``).
"""

from __future__ import annotations

import numpy as np

from edgeport.core.inputs import InputPlan, ValueSource
from edgeport.graph.ir import Graph

__all__ = ["input_hints"]

_EQUALS = {"Equal", "EQUAL"}


def input_hints(graph: Graph) -> InputPlan:
    """An ``InputPlan`` of the values ``graph`` implies for its scalar integer inputs (empty when none)."""
    values: dict[str, ValueSource] = {}
    for name in graph.inputs:
        t = graph.tensor(name)
        if t is None or t.is_constant or t.dtype is None or np.dtype(t.dtype).kind not in "iu":
            continue
        if t.shape is None or len(t.shape) > 1 or (t.shape and t.shape[0] not in (1, None) and
                                                    not isinstance(t.shape[0], str)):
            continue
        for node in graph.consumers.get(name, []):
            if node.op_type not in _EQUALS:
                continue
            other = next((graph.tensor(i) for i in node.inputs if i != name), None)
            if other is not None and other.is_constant and other.value is not None and np.size(other.value) == 1:
                literal = str(int(np.asarray(other.value).reshape(())))
                values[name] = ValueSource("literal", literal, (float(literal),))
                break
    return InputPlan(values=values)
