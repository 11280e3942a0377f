"""Experiments built from the library: the chapters' reproductions, the demo, ablations."""
