"""Folds that reuse the first fold's traced steps train exactly as rebuilt folds do.

``msgan cv`` hands every later fold the first fold's model, optimisers and traced steps
with every variable reset (msgan.training.traced_folds); the weights each fold ends with
and its test MSE must be those of a cross-validation that rebuilds everything per fold.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from msgan.training.cv import cross_validate
from msgan.training.presets import TrainOptions


def fold_weights(run) -> list[np.ndarray]:
    arrays = []
    with h5py.File(run / "model.weights.h5", "r") as handle:
        handle.visititems(lambda name, item: arrays.append((name, item[()])) if isinstance(item, h5py.Dataset)
                          else None)
    return [a for _, a in sorted(arrays, key=lambda pair: pair[0])]


def run_both(shards, tmp_path, model, **options):
    results = {}
    for reuse in (True, False):
        root = tmp_path / f"cv-{reuse}"
        opts = TrainOptions(model, str(shards), str(root), progress=False, **options)
        results[reuse] = (root, cross_validate(opts, folds=2, val_per_fold=0, reuse_traces=reuse))
    return results


def assert_same_folds(results):
    (reused_root, reused_rows), (built_root, built_rows) = results[True], results[False]
    for reused, built in zip(reused_rows, built_rows):
        assert reused["test_mse"] == built["test_mse"]
    for fold in (1, 2):
        mine, theirs = fold_weights(reused_root / f"fold-{fold}"), fold_weights(built_root / f"fold-{fold}")
        assert len(mine) == len(theirs) > 0
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
    # the folds did train: their models differ from one another
    first, second = fold_weights(reused_root / "fold-1"), fold_weights(reused_root / "fold-2")
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))


def test_supervised_folds_reusing_traces_end_as_rebuilt_folds(tiny_shards, tmp_path):
    # Adam has slots and an iteration counter; 2 epochs, so the first fold has moved them far
    results = run_both(tiny_shards, tmp_path, "fcn", epochs=2, lr=1e-3, optimizer="adam", early_stopping=False,
                       model_kwargs={"filters": 2})
    assert_same_folds(results)


@pytest.mark.slow
def test_gan_folds_reusing_traces_end_as_rebuilt_folds(tiny_shards, tmp_path):
    # batch norm statistics, the generator's and the discriminator's optimisers, and the
    # Sketcher's noise layer drawing from a seed generator: all reset too
    results = run_both(tiny_shards, tmp_path, "cgan", epochs=1, loss="l1",
                       model_kwargs={"generator_kwargs": {"base_filters": 2, "levels": 2, "noise": True},
                                     "discriminator_kwargs": {"base_filters": 2, "patch_size": 16}})
    assert_same_folds(results)
