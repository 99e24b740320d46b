"""Verification: compare artifacts on the same real inputs.

- ``edgeport.verify.compare.verify(ref, test, data)`` judges one artifact against a reference;
- ``edgeport.verify.fidelity.fidelity(source, artifacts, data)`` builds the matrix for many;
- ``edgeport.verify.localize.localize(ref, test, data)`` finds the first divergent layer;
- ``edgeport.verify.align`` pairs inputs/outputs across layouts and quantised I/O;
- ``edgeport.verify.feeding`` feeds each side in the batches its model accepts;
- ``edgeport.verify.judgement`` is the rule one output is judged by (allclose; cosine where there is signal);
- ``edgeport.verify.tolerance`` holds the task-aware tolerances.
"""
