"""The networks of the thesis and its baselines, built by name.

``build(name, n_inputs, **hyperparameters)`` is the one entry point; ``MODEL_NAMES`` lists
the names and ``model_kind(name)`` says how a model is trained. Importing this package does
not import TensorFlow; building a model does.
"""
from msgan.models.registry import (
    MODEL_NAMES, MODELS, build, count_parameters, model_kind, model_table,
)

__all__ = ["build", "MODEL_NAMES", "MODELS", "model_kind", "count_parameters",
           "model_table"]
