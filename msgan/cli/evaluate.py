"""``msgan evaluate``: compare predictions with the truth and write a report folder."""
from __future__ import annotations

import shlex
import sys

import click

from data_tools.contracts import TASK_NAMES, THRESHOLD_SOURCES, THRESHOLD_SPACES
from data_tools.errors import ConfigError


def parse_methods(text: str | None) -> dict[str, str]:
    """``"unet=runs/u/predictions,dnn=runs/d/predictions"`` -> {name: folder}."""
    methods = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, folder = item.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ConfigError(f"--methods item {item.strip()!r} is not name=DIR")
        if name.strip() in methods:
            raise ConfigError(f"--methods names {name.strip()!r} twice")
        methods[name.strip()] = folder.strip()
    return methods


@click.command("evaluate")
@click.option("--pred", "pred_dir", required=True, type=click.Path(),
              help="Predictions: <pred>/<subject>/<session>/<TARGET>_pred.nii.gz.")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-*/ses-*/NAME.nii.gz + participants.tsv.")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path (instead of --cohort).")
@click.option("--root", type=click.Path(), help="Folder the manifest's relative paths start from.")
@click.option("--task", required=True, type=click.Choice(TASK_NAMES))
@click.option("--out", required=True, type=click.Path(), help="Report folder to create.")
@click.option("--methods", help="Further methods to compare: name=DIR,name=DIR.")
@click.option("--label", default="msgan", show_default=True, help="Name of the --pred method in the report.")
@click.option("--subjects", help="Comma-separated subject ids to evaluate (default: all).")
@click.option("--k", "k", default=2.0, show_default=True, type=float,
              help="FLAIR threshold segmentation: WM voxels above NAWM mean + k SD.")
@click.option("--dilation", default=5, show_default=True, type=click.IntRange(min=1), help="Surrounding NAWM width (voxels), eq. 2.4.")
@click.option("--bin-mm", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Distance-to-CSF bin width (mm).")
@click.option("--threshold-source", default="same", show_default=True, type=click.Choice(list(THRESHOLD_SOURCES)),
              help="Demyelination thresholds of a map from the controls' maps of the same source (same: "
                   "predicted with predicted, true with true) or from the controls' true maps (truth).")
@click.option("--threshold-space", default="native", show_default=True, type=click.Choice(list(THRESHOLD_SPACES)),
              help="Distance to CSF measured in each subject's space (native) or in MNI space after a "
                   "non-linear registration to nilearn's MNI152 (mni, the thesis's group-level procedure).")
@click.option("--overwrite", is_flag=True, help="Replace an existing report folder.")
def evaluate_command(pred_dir, cohort, manifest, root, task, out, methods, label, subjects, k, dilation,
                     bin_mm, threshold_source, threshold_space, overwrite):
    """Image quality, lesion contrast, myelin, demyelination and clinical statistics as a report."""
    from data_tools.io.cohort import open_cohort
    from data_tools.io.guard import check_outputs

    named = parse_methods(methods)
    data = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--out": out}, {"--cohort": data, "--pred": pred_dir, "--methods": list(named.values())})
    if subjects:
        data = data.select(subjects.split(","))
    from msgan.evaluation import evaluate  # scipy, scikit-image, matplotlib: after the cheap checks

    result = evaluate(pred_dir, data, task, out, methods=named, label=label, k=k,
                      dilation=dilation, bin_mm=bin_mm, threshold_source=threshold_source,
                      threshold_space=threshold_space, overwrite=overwrite,
                      command=" ".join(shlex.quote(a) for a in ["msgan", *sys.argv[1:]]),
                      on_warning=lambda message: click.echo(f"warning: {message}", err=True))
    click.echo(f"wrote {result.out / 'report.md'} ({len(result.tables)} tables, "
               f"{len(result.gaps)} gap(s) stated in the report)")
