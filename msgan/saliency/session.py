"""``msgan saliency``: both saliency maps of one subject's session, as NIfTI, PNG and a table.

The maps are taken with respect to the normalised inputs (as the thesis computes them,
sec. 2.4) over the whole volume, in windows planned from the network itself
(:mod:`msgan.inference.geometry`): halo windows for stride-1 convolutional networks (the
exact whole-volume gradient), the run's patch size for the others.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from data_tools.contracts import RunConfig
from data_tools.errors import CohortError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort
from data_tools.io.masks import brain_mask, lesion_mask
from data_tools.io.nifti import save_like
from msgan.saliency.figures import saliency_overlay_figure
from msgan.saliency.maps import attention_saliency_map, mean_saliency_per_sequence, p3s_map


def window_for(model, config: RunConfig, window=None) -> dict:
    """``windowed_vjp`` arguments: halo covering the receptive field, windows fitting the strides;
    ``window``: the prediction window of a network trained on crops (else the run's patch)."""
    from msgan.models.geometry import is_local, receptive_radius, total_stride

    stride = total_stride(model)
    if stride == 1 and is_local(model):
        halo = receptive_radius(model)
        return {"core": 64, "halo": halo, "multiple": 1}
    patch = (window or config.window or (64,))[0]
    halo = patch // 4
    return {"core": patch - 2 * halo, "halo": halo, "multiple": stride}


def training_loss_name(config: RunConfig) -> str:
    """The reconstruction loss of the final stage (the Refiner's for two-stage models)."""
    return config.options.stages()[-1].loss


def _loss_fn(name: str):
    from msgan import losses

    return losses.get(name)


def saliency_for_session(run_dir: str | Path, cohort: Cohort, subject: str, out: str | Path,
                         session: str | None = None, overwrite: bool = False, window=None) -> list[tuple[str, float]]:
    """Write P3S (eq. 2.3) and attention (eq. 3.7) maps of ``subject`` to ``out``.

    ``out`` receives ``p3s_<NAME>.nii.gz`` per input, ``attention.nii.gz``, ``p3s.png``,
    ``attention.png`` and ``p3s_ranking.csv`` (mean P3S per sequence inside the brain,
    most salient first, as sec. 2.3.3 ranks them). Returns that ranking.
    """
    from data_tools.io.masks import roi_labels, white_matter_mask
    from msgan.inference.predict import predictor_from_run

    predictor, config = predictor_from_run(run_dir, window=window)
    model, normalizer = predictor.model, predictor.normalizer
    if subject.removeprefix("sub-") not in cohort.subjects:
        raise CohortError(f"subject {subject} is not in the cohort", cohort.source)
    sessions = cohort.subjects[subject.removeprefix("sub-")].sessions
    name = session or sorted(sessions)[0]
    if name not in sessions:
        raise CohortError(f"subject {subject} has no session {name}", cohort.source)
    ses = sessions[name]
    ses.require(predictor.inputs + [predictor.target])
    volumes, reference = ses.stack(predictor.inputs)
    brain = brain_mask(ses, predictor.inputs)
    target_raw = ses.load(predictor.target).data
    # normalised as the network saw them: the run's own Normalizer, the graph's own output
    inputs = normalizer.apply_channels(predictor.inputs, volumes, brain)
    target = normalizer.apply(predictor.target, target_raw, brain)
    prediction = predictor.predict_normalised(volumes, brain)
    lesions = lesion_mask(ses, reference.shape)
    window = window_for(model, config, window)

    p3s = p3s_map(model, inputs, target, prediction, **window)
    loss_name = training_loss_name(config)
    roi = None
    if loss_name in ("wl1", "nwl1"):
        roi = roi_labels(lesions, white_matter_mask(ses, brain, lesions))
    attention = attention_saliency_map(model, inputs, target, prediction, _loss_fn(loss_name), roi, **window)
    ranking = mean_saliency_per_sequence(p3s, predictor.inputs, brain)

    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        for c, seq in enumerate(predictor.inputs):
            save_like(p3s[..., c], reference, tmp / f"p3s_{seq}.nii.gz")
        save_like(attention, reference, tmp / "attention.nii.gz")
        label = f"sub-{ses.subject} ses-{ses.name}"
        saliency_overlay_figure(inputs, p3s, predictor.inputs, brain, tmp / "p3s.png",
                                f"P3S maps (eq. 2.3), {label}", lesions)
        saliency_overlay_figure(inputs, attention, [f"attention ({loss_name.upper()})"], brain,
                                tmp / "attention.png", f"Visual attention saliency (eq. 3.7), {label}",
                                lesions)
        with (tmp / "p3s_ranking.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["rank", "sequence", "mean_p3s_in_brain"])
            for rank, (seq, value) in enumerate(ranking, start=1):
                writer.writerow([rank, seq, f"{value:.6g}"])
    return ranking

