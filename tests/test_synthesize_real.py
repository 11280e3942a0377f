"""The whole ``msgan synthesize`` chain on a raw shared patient (T1W + T2W heads, 3 mm slices).

The model is the identity on its T1 channel (a :class:`SavedModelPredictor` whose signature
returns the first input), so the test pays for the chain and not for a network: what comes
back on the T1W's grid must be the T1W itself inside the brain, which checks N4,
registration, brain extraction, the MNI152 registration, both resamplings and the writing.
The network's own prediction is tested in the inference tests; the measured agreement with
the real FLAIR is scripts/evaluate_synthesize_raw.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from data_tools.contracts import ModelCard
from msgan.inference.predict import SavedModelPredictor

pytestmark = pytest.mark.slow


class _Result:
    def __init__(self, array):
        self.array = array

    def numpy(self):
        return np.asarray(self.array)


def test_the_chain_brings_a_raw_t1_to_mni_and_back(open_ms_raw, tmp_path):
    from data_tools.io.nifti import load_volume
    from msgan.evaluation.image_quality import brain_correlation
    from msgan.inference.synthesize import synthesize

    card = ModelCard.from_dict({"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "space": "mni152"})
    predictor = SavedModelPredictor(tmp_path, card, lambda volumes, brainmask: {
        "prediction": _Result(np.asarray(volumes)[..., 0] * np.asarray(brainmask))})
    folder = open_ms_raw / "patient04"
    inputs = {"T1": folder / "study1_T1W.nii.gz", "T2": folder / "study1_T2W.nii.gz"}
    out = tmp_path / "flair.nii.gz"
    # deepbrain: the lighter extractor (HD-BET's cost: docs/synthesize.md)
    result = synthesize(predictor, inputs, out, extractor="deepbrain", qc=tmp_path / "qc.png",
                        keep_intermediate=tmp_path / "steps", progress=False)
    t1, written = load_volume(inputs["T1"]), load_volume(out)
    assert written.shape == t1.shape and np.allclose(written.affine, t1.affine)
    assert int(written.header["sform_code"]) == int(t1.header["sform_code"])
    brain = result.session.native_brain
    assert 0.8 < brain.sum() * np.prod(t1.zooms) / 1e6 < 2.2  # litres
    assert not written.data[~brain].any()
    # the T1 went to MNI and back: the same image inside the brain, up to N4 and two resamplings
    assert brain_correlation(t1.data, written.data, brain) > 0.9
    assert result.session.brain.shape == (182, 218, 182) and 0.8e6 < result.session.brain.sum() < 2.2e6
    assert (tmp_path / "qc.png").stat().st_size > 0
    assert {p.name for p in (tmp_path / "steps").iterdir()} >= {
        "T2_to_T1.tfm", "T1_to_mni152.tfm", "brainmask_native.nii.gz", "T1_mni152.nii.gz", "prediction_mni152.nii.gz"}
