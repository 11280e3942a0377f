"""``msgan preprocess``: bias correction, registration, resampling, brain extraction and
QC figures (SimpleITK, the ``[preprocess]`` extra). Builds on :mod:`data_tools.io`."""
