"""Files in and out: NIfTI volumes, atomic outputs, cohorts (folder, BIDS, manifest), a
session's masks and fingerprint. Imports only ``data_tools.errors`` and ``data_tools.contracts``."""
