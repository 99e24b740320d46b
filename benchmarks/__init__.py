"""edgeport's performance suite (``make bench``): ``python benchmarks/run.py [--smoke]``."""
