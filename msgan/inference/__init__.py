"""Whole-volume prediction, Monte-Carlo dropout uncertainty and SavedModel export.

Modules: ``windows`` (window grid and weights), ``sliding_window`` (the one TensorFlow
sliding window), ``geometry`` (stride and receptive field of a model -> window plan),
``pipeline`` (normalise -> window -> de-normalise graph), ``uncertainty`` (MC dropout),
``predict`` (sessions -> NIfTI files), ``export`` (SavedModel + model card).
TensorFlow is imported by the submodules only, so ``import msgan.inference`` stays cheap.
"""
