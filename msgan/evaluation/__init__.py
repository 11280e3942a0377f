"""Evaluation of predicted images: image quality, lesion contrast, myelin per region,
demyelination, longitudinal indices, clinical correlation, method comparisons, report.

The entry point is :func:`msgan.evaluation.evaluate` (``msgan evaluate`` on the command line).
"""
from msgan.evaluation.runner import EvaluationResult, evaluate, find_prediction

__all__ = ["evaluate", "EvaluationResult", "find_prediction"]
