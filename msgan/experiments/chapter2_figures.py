"""The figures of chapter 2's report that ``msgan evaluate`` does not draw: learning curves
(Fig. 2.3), a few methods side by side (Figs. 2.4, 2.7), lesion segmentations of true and
synthetic FLAIR (Fig. 2.5)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from data_tools.io.masks import brain_mask, lesion_mask, white_matter_mask  # noqa: E402
from data_tools.io.nifti import load_volume  # noqa: E402
from msgan.evaluation.figures import qualitative_panel, save_figure  # noqa: E402
from msgan.evaluation.lesion_contrast import threshold_segmentation  # noqa: E402


def validation_curves(cv_dir: Path) -> pd.DataFrame:
    """``epoch, val_mse`` averaged over the folds of one cross-validation (``fold-*/history.csv``)."""
    frames = []
    for history in sorted(cv_dir.glob("fold-*/history.csv")):
        rows = pd.read_csv(history)
        if "val_mse" in rows:
            frames.append(rows[["epoch", "val_mse"]].assign(fold=history.parent.name))
    if not frames:
        return pd.DataFrame(columns=["epoch", "val_mse", "folds"])
    both = pd.concat(frames)
    return both.groupby("epoch").agg(val_mse=("val_mse", "mean"), folds=("fold", "nunique")).reset_index()


def learning_curves(curves: dict[str, pd.DataFrame], path: Path) -> Path | None:
    """Fig. 2.3: mean held-out MSE per epoch, one line per depth."""
    drawn = {label: c for label, c in curves.items() if len(c)}
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for label, curve in drawn.items():
        ax.plot(curve.epoch, curve.val_mse, marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out MSE (normalised FLAIR)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _middle_lesion_slice(mask: np.ndarray) -> int:
    """The axial slice with the most lesion voxels (the middle one without lesions)."""
    per_slice = mask.reshape(-1, mask.shape[-1]).sum(0)
    return int(per_slice.argmax()) if per_slice.any() else mask.shape[-1] // 2


def methods_panel(session, predictions: dict[str, Path], target: str, title: str, path: Path) -> Path | None:
    """Each named prediction of ``session`` beside the truth, with |difference| maps (Figs. 2.4, 2.7)."""
    found = {label: p for label, p in predictions.items() if p.is_file()}
    if not found:
        return None
    truth = session.load(target).data
    z = _middle_lesion_slice(lesion_mask(session, truth.shape))
    preds = {label: load_volume(p).data[..., z] for label, p in found.items()}
    qualitative_panel({"inputs": {}, "preds": preds, "truth": truth[..., z], "label": title, "z": z}, path)
    return path


def segmentation_examples(cohort, chosen: list[tuple[str, float]], pred_dir: Path, target: str, k: float,
                          path: Path) -> Path | None:
    """Fig. 2.5: per chosen (subject, DICE): true FLAIR and its lesion segmentation, synthetic
    FLAIR and its segmentation (the threshold segmentation of ``msgan evaluate``)."""
    rows = []
    for subject, score in chosen:
        session = next(iter(cohort.select([subject]).sessions("t0")))
        pred_path = pred_dir / subject / session.name / f"{target}_pred.nii.gz"
        if not pred_path.is_file():
            continue
        truth = session.load(target).data
        pred = load_volume(pred_path).data
        brain = brain_mask(session, [target])
        lesions = lesion_mask(session, truth.shape) & brain
        wm = white_matter_mask(session, brain, lesions) & brain
        segs = [threshold_segmentation(image, wm, lesions, k) for image in (truth, pred)]
        rows.append((subject, score, truth, pred, segs, _middle_lesion_slice(lesions)))
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 4, figsize=(9, 2.4 * len(rows)), squeeze=False)
    for ax_row, (subject, score, truth, pred, segs, z) in zip(axes, rows):
        limits = dict(vmin=float(truth.min()), vmax=float(np.percentile(truth, 99.5)))
        for ax, image, seg, name in ((ax_row[0], truth, None, "true FLAIR"),
                                     (ax_row[1], truth, segs[0], "lesions on true"),
                                     (ax_row[2], pred, None, "synthetic FLAIR"),
                                     (ax_row[3], pred, segs[1], "lesions on synthetic")):
            ax.imshow(np.rot90(image[..., z]), cmap="gray", **limits)
            if seg is not None:
                ax.imshow(np.rot90(np.ma.masked_where(~seg[..., z], seg[..., z])), cmap="autumn", alpha=0.8)
            ax.set_title(f"{name}", fontsize=8)
            ax.axis("off")
        ax_row[0].set_ylabel(subject)
        ax_row[0].set_title(f"sub-{subject}, DICE {score:.2f}: true FLAIR", fontsize=8)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return save_figure(fig, path)
