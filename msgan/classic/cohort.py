"""A classic method by name, fitted on a cohort's sessions: the voxels normalised as a
shard folder's ``normalization.json`` says (the deep models' normalisation), predictions
de-normalised. ``msgan ablate`` and ``msgan reproduce ch2`` fit them so."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.io.masks import brain_mask

CLASSIC_MODELS = ("random_forest", "modality_propagation", "gradient_boosting")


def build_classic(name: str, seed: int, **hyperparameters):
    """The classic method ``name`` of :data:`CLASSIC_MODELS` (e.g. ``n_trees`` for the forest)."""
    from msgan.classic import GradientBoostingSynthesis, ModalityPropagation, RandomForestSynthesis

    # every core: scikit-learn's results do not depend on n_jobs for a fixed seed
    return {"random_forest": RandomForestSynthesis, "modality_propagation": ModalityPropagation,
            "gradient_boosting": GradientBoostingSynthesis}[name](seed=seed, n_jobs=-1, **hyperparameters)


def _normalised_session(normalizer, session, names, target):
    volumes, reference = session.stack(names)
    brain = brain_mask(session, names)
    x = normalizer.apply_channels(names, volumes, brain)
    return x, normalizer.apply(target, session.load(target).data, brain), brain


def classic_predictions(name, shards: Path, cohort, train_ids, test_sessions, names, target, seed,
                        **hyperparameters):
    """Classic method ``name`` (built with ``hyperparameters``, e.g. ``n_trees``) fitted on
    ``train_ids``' sessions, normalised as the shards were, predicting ``test_sessions``; the
    predictions de-normalised, zero outside the brain."""
    from data_tools.shards.normalize import Normalizer

    normalizer = Normalizer.from_json(shards / "normalization.json")
    train = [_normalised_session(normalizer, s, names, target)
             for s in cohort.select(train_ids).sessions() if s.has(target)]
    inputs, targets, brains = (np.stack([t[i] for t in train]) for i in range(3))
    model = build_classic(name, seed, **hyperparameters).fit(inputs, targets[..., None], mask=brains)
    out = []
    for ses in test_sessions:
        x, _, brain = _normalised_session(normalizer, ses, names, target)
        pred = model.predict(x[None], mask=brain[None])[0, ..., 0]
        out.append(normalizer.invert(target, pred) * brain)
    return out
