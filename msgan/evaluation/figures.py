"""The report's figures (matplotlib, Agg backend): each function draws one figure to a PNG.

Qualitative panel (Figs. 2.4, 3.4), ROI box plots (Fig. 3.6), Bland-Altman (Fig. 3.7),
demyelination percentages and agreement overlays (Figs. 3.8, 4.4), longitudinal indices
per patient (Fig. 4.5), dynamic voxels (Fig. 4.6) and the thresholding procedure itself;
for the chapters' reports (``msgan reproduce``) the figures drawn from their runs rather
than from one evaluation: learning curves (Fig. 2.3), chosen methods side by side (Figs.
2.4, 2.7), lesion segmentations of true and synthetic FLAIR (Fig. 2.5), MSE against the
refinement iterations (Fig. 3.5) and saliency images one above the other (Fig. 3.9).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from data_tools.io.masks import brain_mask, lesion_mask, white_matter_mask  # noqa: E402
from data_tools.io.nifti import load_volume  # noqa: E402
from msgan.evaluation.collect import slice_through  # noqa: E402
from msgan.evaluation.constants import TRUTH  # noqa: E402
from msgan.evaluation.lesion_contrast import threshold_segmentation  # noqa: E402
from msgan.evaluation.tables import BLAND_ALTMAN_REGIONS  # noqa: E402
from msgan.inference.predict import prediction_path  # noqa: E402

DPI = 110


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (its folder made) at the reports' resolution, and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _show(ax, image, title, **kwargs):
    ax.imshow(np.rot90(image), cmap=kwargs.pop("cmap", "gray"), **kwargs)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def qualitative_panel(example: dict, path: Path) -> Path:
    """Inputs, truth and each method's prediction (top), absolute differences (bottom)."""
    inputs, preds, truth = example["inputs"], example["preds"], example["truth"]
    ncols = max(len(inputs) + 1 + len(preds), 1)
    fig, axes = plt.subplots(2, ncols, figsize=(2.2 * ncols, 4.6), squeeze=False)
    vmin, vmax = float(truth.min()), float(truth.max())
    col = 0
    for name, image in inputs.items():
        _show(axes[0, col], image, f"input {name}")
        col += 1
    _show(axes[0, col], truth, "truth", vmin=vmin, vmax=vmax)
    col += 1
    diff_max = max([float(np.abs(p - truth).max()) for p in preds.values()] + [1e-6])
    for name, pred in preds.items():
        _show(axes[0, col], pred, name, vmin=vmin, vmax=vmax)
        _show(axes[1, col], np.abs(pred - truth), f"|{name} - truth|", cmap="magma", vmin=0, vmax=diff_max)
        col += 1
    for ax in axes.ravel():
        if not ax.images:
            ax.axis("off")
    fig.suptitle(f"{example['label']}, axial slice {example['z']}", fontsize=10)
    return save_figure(fig, path)


def roi_boxplots(roi: pd.DataFrame, path: Path, unit: str) -> Path:
    """Per-subject mean per ROI: truth and each method side by side, one panel per session (Fig. 3.6)."""
    rois = [r for r in ("WM_HC", "NAWM", "lesions") if r in set(roi.roi)]
    methods = list(dict.fromkeys(roi.method))
    sessions = list(dict.fromkeys(roi.session))
    sources = [TRUTH, *methods]
    fig, axes = plt.subplots(len(sessions), 1, figsize=(2.2 + 1.6 * len(rois) * len(sources) / 2, 3.6 * len(sessions)),
                             squeeze=False)
    width = 0.8 / len(sources)
    colors = plt.cm.tab10.colors
    for ax, session in zip(axes[:, 0], sessions):
        in_session = roi[roi.session == session]
        for j, source in enumerate(sources):
            data, positions = [], []
            for i, name in enumerate(rois):
                part = in_session[in_session.roi == name]
                values = (part.drop_duplicates("subject").true_mean if source == TRUTH
                          else part[part.method == source].pred_mean)
                data.append(values.to_numpy())
                positions.append(i + (j - (len(sources) - 1) / 2) * width)
            # whiskers from the minimum to the maximum, as the thesis's box plots (Fig. 3.6)
            box = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showmeans=True,
                             meanline=True, whis=(0, 100))
            for patch in box["boxes"]:
                patch.set_facecolor(colors[j % 10])
                patch.set_alpha(0.6)
            ax.plot([], [], color=colors[j % 10], lw=6, alpha=0.6, label=source)
        ax.set_xticks(range(len(rois)), rois)
        ax.set_ylabel(f"mean {unit} per subject")
        ax.legend(fontsize=8, frameon=False)
        ax.set_title(f"ses-{session}: mean per region (line: median, dashed: mean, whiskers: min-max)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def bland_altman_plot(roi: pd.DataFrame, path: Path) -> Path:
    """Predicted - true vs their average, one point per subject, WM/NAWM and lesions, one row of
    panels per session (Fig. 3.7)."""
    sessions = list(dict.fromkeys(roi.session))
    fig, axes = plt.subplots(len(sessions), 2, figsize=(9, 3.6 * len(sessions)), squeeze=False)
    colors = plt.cm.tab10.colors
    for row, session in zip(axes, sessions):
        for ax, (title, names) in zip(row, BLAND_ALTMAN_REGIONS):
            part = roi[(roi.session == session) & roi.roi.isin(names)]
            for j, (method, rows) in enumerate(part.groupby("method", sort=False)):
                diff = rows.pred_mean - rows.true_mean
                ax.scatter((rows.pred_mean + rows.true_mean) / 2, diff, s=18, color=colors[j % 10], label=method)
                if len(diff) >= 2:
                    bias, sd = diff.mean(), diff.std(ddof=1)
                    ax.axhline(bias, color=colors[j % 10], lw=1)
                    for limit in (bias - 1.96 * sd, bias + 1.96 * sd):
                        ax.axhline(limit, color=colors[j % 10], lw=0.8, ls="--")
            ax.axhline(0, color="black", lw=0.5)
            ax.set_title(f"ses-{session}, {title} (bias solid, 95% limits dashed)", fontsize=9)
            ax.set_xlabel("(predicted + true) / 2")
            ax.set_ylabel("predicted - true")
            ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, path)


def percent_bars(demy: pd.DataFrame, path: Path) -> Path:
    """% demyelinated over lesion load per patient, truth vs methods, one panel per session (Figs. 3.8A, 4.4A)."""
    sessions = list(dict.fromkeys(demy.session))
    fig, axes = plt.subplots(len(sessions), 1, figsize=(max(4, 0.7 * demy.subject.nunique() + 2), 2.8 * len(sessions)),
                             squeeze=False)
    for ax, session in zip(axes[:, 0], sessions):
        part = demy[demy.session == session]
        table = part.pivot_table(index="subject", columns="method", values="percent")
        cols = [TRUTH, *[c for c in table.columns if c != TRUTH]]
        table[cols].plot.bar(ax=ax, rot=0)
        ax.set_ylabel("% demyelinated")
        ax.set_title(f"ses-{session}", fontsize=9)
        ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)


def demyelination_overlays(overlays: list[dict], path: Path, method: str) -> Path:
    """Agreement of demyelinated voxels in lesions: yellow both, blue neither (white in the thesis,
    unreadable on white matter), red truth only,
    orange prediction only (Fig. 3.8B)."""
    fig, axes = plt.subplots(1, len(overlays), figsize=(3.6 * len(overlays), 3.8), squeeze=False)
    cmap = ListedColormap(["deepskyblue", "yellow", "red", "orange"])
    for ax, item in zip(axes[0], overlays):
        label = np.full(item["lesions"].shape, np.nan)
        true, pred, lesions = item["true"], item["pred"], item["lesions"]
        label[lesions & ~true & ~pred] = 0
        label[true & pred] = 1
        label[true & ~pred] = 2
        label[~true & pred] = 3
        score = f"{item['dice']:.2f}" if np.isfinite(item["dice"]) else "n/a (both maps empty)"
        _show(ax, item["background"], f"{item['label']} z={item['z']}\nDICE {score}")
        ax.imshow(np.rot90(label), cmap=cmap, vmin=-0.5, vmax=3.5, interpolation="nearest")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("yellow", "deepskyblue", "red", "orange")]
    fig.legend(handles, ["both", "neither", "truth only", f"{method} only"], loc="lower center", ncol=4,
               fontsize=8, frameon=False)
    return save_figure(fig, path)


def dynamic_voxels(panels: list[dict], path: Path) -> Path:
    """Fig. 4.6, from :func:`msgan.evaluation.longitudinal.dynamic_voxel_panels`: rows =
    patients; columns = T1 with lesions (white), predicted, true; demyelinating voxels red,
    remyelinating blue (the colours of Fig. 4.6)."""
    fig, axes = plt.subplots(len(panels), 3, figsize=(7.5, 2.6 * len(panels)), squeeze=False)
    for row, panel in zip(axes, panels):
        base = panel["background"] / max(float(np.percentile(panel["background"], 99)), 1e-6)
        for ax, key in zip(row, ("T1", "predicted", "true")):
            rgb = np.repeat(np.clip(base, 0, 1)[..., None], 3, -1)
            rgb[panel["lesions"]] = (1.0, 1.0, 1.0)
            if key != "T1":
                demyelinating, remyelinating = panel[key]
                rgb[demyelinating] = (1.0, 0.1, 0.1)
                rgb[remyelinating] = (0.1, 0.3, 1.0)
            ax.imshow(np.rot90(rgb))
            ax.set_title(f"sub-{panel['subject']} z={panel['z']}: {key}", fontsize=8)
            ax.axis("off")
    return save_figure(fig, path)


def indices_plot(longi: pd.DataFrame, path: Path) -> Path:
    """The three longitudinal indices per patient, sorted by the true global change (Fig. 4.5)."""
    names = ("global_change", "dynamic_demyelination", "dynamic_remyelination")
    truth = longi[longi.method == TRUTH].set_index("subject")
    order = truth.global_change.sort_values().index
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, name in zip(axes, names):
        table = longi.pivot_table(index="subject", columns="method", values=name).reindex(order)
        cols = [TRUTH, *[c for c in table.columns if c != TRUTH]]
        table[cols].plot.bar(ax=ax, rot=0)
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(name.replace("_", " ") + " (%)", fontsize=9)
        ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)


def threshold_procedure(thresholds: dict, procedure: pd.DataFrame | None, path: Path) -> Path:
    """Controls' true DVR per distance-to-CSF bin with the mean - 1 SD threshold of each map
    source; recovery of the simulation's true demyelinated map when available."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    truth = thresholds[TRUTH]
    centres = (np.arange(len(truth.mean)) + 0.5) * truth.bin_mm
    ok = truth.count > 0
    ax.errorbar(centres[ok], truth.mean[ok], yerr=truth.sd[ok], fmt="o-", ms=3, label="controls' true WM mean +- SD")
    drawn = []
    for source, thr in thresholds.items():
        if any(thr is seen for seen in drawn):  # threshold source "truth": one curve serves all maps
            continue
        drawn.append(thr)
        x = (np.arange(len(thr.mean)) + 0.5) * thr.bin_mm
        ax.plot(x, thr.threshold, ".-", label=f"threshold for {source} maps (controls' {source} maps)")
    ax.set_xlabel("distance to CSF (mm)")
    ax.set_ylabel("DVR")
    title = "Demyelination thresholds"
    if procedure is not None and len(procedure):
        title += f"; DICE vs simulated demyelination {procedure.dice_vs_simulated.mean():.2f} (mean)"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return save_figure(fig, path)


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
    fig.tight_layout()
    return save_figure(fig, path)


def methods_panel(session, predictions: dict[str, Path], target: str, title: str, path: Path) -> Path | None:
    """Each named prediction of ``session`` beside the truth, with |difference| maps (Figs. 2.4, 2.7)."""
    found = {label: p for label, p in predictions.items() if p.is_file()}
    if not found:
        return None
    truth = session.load(target).data
    z = slice_through(lesion_mask(session, truth.shape))
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
        pred_path = prediction_path(pred_dir, subject, session.name, target)
        if not pred_path.is_file():
            continue
        truth = session.load(target).data
        pred = load_volume(pred_path).data
        brain = brain_mask(session, [target])
        lesions = lesion_mask(session, truth.shape) & brain
        wm = white_matter_mask(session, brain, lesions) & brain
        segs = [threshold_segmentation(image, wm, lesions, k) for image in (truth, pred)]
        rows.append((subject, score, truth, pred, segs, slice_through(lesions)))
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
    fig.tight_layout()
    return save_figure(fig, path)


def iterations_plot(mse: dict[int, float], path: Path) -> Path:
    """Fig. 3.5: the brain MSE against the refinement iterations K."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(list(mse), list(mse.values()), "o-")
    ax.set_xlabel("refinement iterations K")
    ax.set_ylabel("MSE (brain)")
    ax.set_xticks(list(mse))
    return save_figure(fig, path)


def stacked_images(images: dict[str, Path], path: Path) -> Path:
    """PNG images one above the other, each under its title (Fig. 3.9: two U-Nets' attention maps)."""
    fig, axes = plt.subplots(len(images), 1, figsize=(8, 3 * len(images)), squeeze=False)
    for ax, (title, image) in zip(axes[:, 0], images.items()):
        ax.imshow(plt.imread(image))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return save_figure(fig, path)
