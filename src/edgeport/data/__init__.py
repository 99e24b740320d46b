"""Real data: datasets with splits, and the built-in examples."""
