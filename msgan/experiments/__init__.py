"""Experiments built from the library: the demo, baselines, ablations."""
