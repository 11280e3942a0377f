"""Classic (non-deep) baselines of the thesis, on scikit-learn, with the deep models'
volume interface: ``fit(inputs, target, mask=None)`` and ``predict(inputs, mask=None)``
on channels-last arrays (B, D, H, W, C) -> (B, D, H, W, 1).

- :class:`RandomForestSynthesis`: random forest regression on 3x3x3 patches (Jog 2014).
- :class:`ModalityPropagation`: k nearest training patches, target centres averaged (Ye 2013).
- :class:`GradientBoostingSynthesis`: histogram gradient boosting on per-subject z-scores
  and their 3^3/7^3 means (not in the thesis: the quick baseline of issue 19).

:mod:`msgan.classic.cohort` builds one by name and fits it on a cohort's sessions;
:func:`msgan.classic.mean_image.mean_image_predictions` (the demo's) predicts the training
subjects' mean image.
"""
from msgan.classic.boosting import GradientBoostingSynthesis
from msgan.classic.forest import RandomForestSynthesis
from msgan.classic.patches import patch_features
from msgan.classic.propagation import ModalityPropagation

__all__ = ["RandomForestSynthesis", "ModalityPropagation", "GradientBoostingSynthesis", "patch_features"]
