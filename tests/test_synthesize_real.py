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


def test_an_mni_patient_brought_to_the_template_scale(open_ms_data):
    """The authors' MNI patient (registered without scaling) comes out at the template's
    scale, as the raw sessions do, with its lesions moved by the same transform."""
    import nibabel as nib

    from msgan.inference.raw_chain import stripped_to_model_space
    from msgan.inference.spaces import SPACES

    folder = open_ms_data / "cross_sectional" / "MNI" / "patient07"
    stem = "N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI"
    paths = {"T1": folder / f"T1_{stem}.nii.gz", "FLAIR": folder / f"FLAIR_{stem}.nii.gz",
             "lesions": folder / "GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz"}
    before_brain = np.asarray(nib.load(str(paths["T1"])).dataobj) != 0
    before_lesions = np.asarray(nib.load(str(paths["lesions"])).dataobj) > 0
    images, brain, affine = stripped_to_model_space(paths, "mni152")
    shape, grid_affine = SPACES["mni152"]
    assert brain.shape == shape and np.allclose(affine, grid_affine)
    growth = brain.sum() / before_brain.sum()
    assert 1.3 < growth < 2.0, growth  # ~1.1 L as published, the template's brain ~1.9 L
    assert images["lesions"].dtype == np.uint8 and set(np.unique(images["lesions"])) <= {0, 1}
    assert abs(images["lesions"].sum() / before_lesions.sum() / growth - 1) < 0.1
    assert np.all(images["T1"][~brain] == 0) and np.all(images["FLAIR"][~brain] == 0)
