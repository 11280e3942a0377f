"""``msgan predict`` and ``msgan export``: thin wrappers over :mod:`msgan.inference`."""
from __future__ import annotations

import click

from data_tools.errors import ConfigError


def _csv_list(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _window(text):
    if not text:
        return None
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise ConfigError(f"--window must be D,H,W integers, got {text!r}") from None
    if len(sizes) == 1:
        sizes *= 3
    if len(sizes) != 3 or min(sizes) < 1:
        raise ConfigError(f"--window must be D,H,W positive integers, got {text!r}")
    return tuple(sizes)


@click.command("predict")
@click.option("--run", "run_dir", type=click.Path(), help="Run folder of msgan train.")
@click.option("--saved-model", type=click.Path(), help="A SavedModel folder of msgan export.")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-<id>/ses-<name>/<NAME>.nii.gz.")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path.")
@click.option("--root", type=click.Path(), help="Folder the manifest's relative paths start from.")
@click.option("--subjects", help="Comma-separated subject ids (default: all).")
@click.option("--session", help="Only this session (e.g. t1; default: every session).")
@click.option("--out", required=True, type=click.Path(), help="Output folder <out>/<subject>/<session>/.")
@click.option("--overlap", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Window overlap in [0, 1) (default 0.25 for strided networks, 0 for stride-1 ones).")
@click.option("--window", "window_text", help="Window size D,H,W (default: the run's patch size).")
@click.option("--blend", type=click.Choice(["gaussian", "constant"]), default="gaussian",
              show_default=True, help="How overlapping windows are averaged.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Windows per forward pass.")
@click.option("--tile", type=click.IntRange(min=1), default=256, show_default=True,
              help="Tile side for stride-1 networks (fcn, mlp, dnn2); smaller uses less memory, same result.")
@click.option("--samples", type=click.IntRange(min=0), default=0,
              help="Monte-Carlo dropout passes (>= 2) for the mean and an SD map.")
@click.option("--task", "expected_task", type=click.Choice(["flair", "myelin", "myelin-longitudinal"]),
              help="Refuse a model trained for another task.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def predict_command(run_dir, saved_model, cohort, manifest, root, subjects, session, out, overlap,
                    window_text, blend, batch_size, tile, samples, expected_task, overwrite):
    """Predict whole volumes as <out>/<subject>/<session>/<TARGET>_pred.nii.gz."""
    from data_tools.cohort import open_cohort
    from msgan.inference.predict import load_saved_model, predict_cohort, predictor_from_run

    if (run_dir is None) == (saved_model is None):
        raise ConfigError("give exactly one of --run or --saved-model")
    opened = open_cohort(cohort=cohort, manifest=manifest, root=root)
    if run_dir is not None:
        predictor, _ = predictor_from_run(run_dir, overlap=overlap, blend=blend, window=_window(window_text),
                                          batch_size=batch_size, expected_task=expected_task, tile=tile)
    else:
        if overlap is not None or window_text:
            raise ConfigError("--overlap/--window are fixed in a SavedModel at export time")
        predictor = load_saved_model(saved_model, expected_task=expected_task)
    written = predict_cohort(predictor, opened, out, subjects=_csv_list(subjects), session=session,
                             samples=samples, overwrite=overwrite)
    click.echo(f"wrote {len(written)} file(s) under {out}")


@click.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(), help="Run folder of msgan train.")
@click.option("--out", required=True, type=click.Path(),
              help="SavedModel folder, saved_models/<name>/<version> for TF Serving.")
@click.option("--overlap", type=click.FloatRange(0, 1, max_open=True), default=None, help="Window overlap baked into predict_volume.")
@click.option("--blend", type=click.Choice(["gaussian", "constant"]), default="gaussian", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Windows per forward pass.")
@click.option("--overwrite", is_flag=True, help="Replace an existing SavedModel folder.")
def export_command(run_dir, out, overlap, blend, batch_size, overwrite):
    """Export a run as a SavedModel (serving_default + predict_volume) with a model card."""
    from pathlib import Path

    from msgan.inference.export import export_run

    if not Path(out).name.isdigit():
        click.echo(f"note: TF Serving expects a numeric version folder (saved_models/<name>/1), got {out}",
                   err=True)
    path = export_run(run_dir, out, overwrite=overwrite, overlap=overlap, blend=blend, batch_size=batch_size)
    click.echo(f"exported {path} (signatures serving_default, predict_volume)")
