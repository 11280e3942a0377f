"""Everything between files on disk and tensors. Nothing here imports ``msgan``."""
