"""Verification: compare artifacts on the same real inputs.

- ``edgeport.verify.compare.verify(ref, test, data)`` judges one artifact against a reference;
- ``edgeport.verify.fidelity.fidelity(source, artifacts, data)`` builds the matrix for many;
- ``edgeport.verify.localize.localize(ref, test, data)`` finds the first divergent layer;
- ``edgeport.verify.align`` pairs inputs/outputs across layouts and quantised I/O;
- ``edgeport.verify.tolerance`` holds the task-aware tolerances.
"""
