"""``msgan predict`` and ``msgan export``: thin wrappers over :mod:`msgan.inference`."""
from __future__ import annotations

from pathlib import Path

import click

from data_tools.contracts import BLEND_NAMES, PRECISIONS, SPACE_NAMES, TASK_NAMES
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
@click.option("--model", "shipped", help="A trained model by name: one that ships with msgan "
              "(msgan models --shipped; e.g. flair-t1-t2-t1post) or one in --model-dir / $MSGAN_MODELS.")
@click.option("--model-dir", type=click.Path(), help="A folder of <name>/<version>/ SavedModels "
              "(msgan export) searched first for --model NAME (docs/models.md).")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-<id>/ses-<name>/<NAME>.nii.gz, "
              "or a BIDS dataset.")
@click.option("--bids", type=click.Path(), help="A BIDS dataset root (the same as --cohort on one).")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path.")
@click.option("--root", type=click.Path(), help="Folder the manifest's relative paths start from.")
@click.option("--subjects", help="Comma-separated subject ids (default: all).")
@click.option("--session", help="Only this session (e.g. t1; default: every session).")
@click.option("--out", type=click.Path(), help="Output folder <out>/<subject>/<session>/.")
@click.option("--bids-out", type=click.Path(), help="Also (or instead) write BIDS derivatives to "
              "DIR/derivatives/msgan (desc-synthetic images with JSON sidecars); DIR is usually the BIDS dataset.")
@click.option("--overlap", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Window overlap in [0, 1) (default 0.25 for strided networks, 0 for stride-1 ones).")
@click.option("--window", "window_text", help="Window size D,H,W (default: the run's patch size).")
@click.option("--blend", type=click.Choice(BLEND_NAMES), default="gaussian",
              show_default=True, help="How overlapping windows are averaged.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Windows per forward pass.")
@click.option("--tile", type=click.IntRange(min=1), default=256, show_default=True,
              help="Tile side for stride-1 networks (fcn, mlp, dnn2); smaller uses less memory, same result.")
@click.option("--samples", type=click.IntRange(min=0), default=0,
              help="Monte-Carlo dropout passes (>= 2) for the mean and an SD map.")
@click.option("--noise-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="GAN Sketchers: 0 predicts with the noise z = 0 (its mean); K averages K "
              "predictions with fixed draws of z. Either way the same input gives the same output.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="float32", show_default=True,
              help="Compute precision of the network (--run only; docs/performance.md).")
@click.option("--jit-compile", is_flag=True, help="XLA-compile the network (--run only; GPUs).")
@click.option("--task", "expected_task", type=click.Choice(TASK_NAMES),
              help="Refuse a model trained for another task.")
@click.option("--skip-incomplete", is_flag=True, help="Leave out (and list) the sessions lacking an "
              "input instead of stopping (e.g. a BIDS dataset where some sessions lack a sequence).")
@click.option("--force", is_flag=True, help="Predict sessions unlike the model's training scans "
              "(voxel size, orientation, brain extraction, intensity scale) with a warning instead of stopping.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def predict_command(run_dir, saved_model, shipped, model_dir, cohort, bids, manifest, root, subjects, session, out, bids_out, overlap,
                    window_text, blend, batch_size, tile, samples, noise_samples, precision, jit_compile,
                    expected_task, skip_incomplete, force, overwrite):
    """Predict whole volumes as <out>/<subject>/<session>/<TARGET>_pred.nii.gz."""
    from data_tools.errors import CohortError
    from data_tools.io.bids import is_bids_dataset
    from data_tools.io.cohort import open_cohort
    from data_tools.io.guard import check_outputs
    from msgan.inference.bids_out import PIPELINE, model_provenance
    from msgan.inference.predict import load_saved_model, predict_cohort, predictor_from_run

    if sum(x is not None for x in (run_dir, saved_model, shipped)) != 1:
        raise ConfigError("give exactly one of --run, --saved-model or --model")
    if shipped is not None:
        from msgan.inference.shipped import resolve_model

        saved_model = resolve_model(shipped, model_dir=model_dir)
    elif model_dir is not None:
        raise ConfigError("--model-dir names where --model NAME is looked up; give --model too")
    if out is None and bids_out is None:
        raise ConfigError("give --out, --bids-out or both")
    if bids is not None:
        if cohort is not None:
            raise ConfigError("give --cohort or --bids, not both")
        if not is_bids_dataset(bids):
            raise CohortError("not a BIDS dataset (no dataset_description.json, no sub-*/anat)", bids)
        cohort = bids
    opened = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--out": out, "--bids-out": bids_out and Path(bids_out) / "derivatives" / PIPELINE},
                  {"--cohort": opened, "--run": run_dir, "--saved-model": saved_model})
    if run_dir is not None:
        predictor, config = predictor_from_run(run_dir, overlap=overlap, blend=blend, window=_window(window_text),
                                               batch_size=batch_size, expected_task=expected_task, tile=tile,
                                               noise_samples=noise_samples, precision=precision,
                                               jit_compile=jit_compile)
        provenance = model_provenance(predictor, config=config, name=Path(run_dir).name, folder=run_dir)
        fingerprint = config.get("fingerprint")
    else:
        if overlap is not None or window_text or noise_samples or precision != "float32" or jit_compile:
            raise ConfigError("--overlap/--window/--noise-samples/--precision/--jit-compile are fixed in a "
                              "SavedModel at export time")
        predictor = load_saved_model(saved_model, expected_task=expected_task)
        name = shipped or Path(saved_model).name
        provenance = model_provenance(predictor, card=predictor.card, name=name)
        fingerprint = predictor.card.get("fingerprint")
    written = predict_cohort(predictor, opened, out, subjects=_csv_list(subjects), session=session,
                             samples=samples, overwrite=overwrite, bids_out=bids_out, provenance=provenance,
                             skip_incomplete=skip_incomplete, fingerprint=fingerprint, force=force)
    click.echo(f"wrote {len(written)} file(s) under {', '.join(str(p) for p in (out, bids_out) if p)}")


@click.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(), help="Run folder of msgan train.")
@click.option("--out", required=True, type=click.Path(),
              help="SavedModel folder, saved_models/<name>/<version> for TF Serving.")
@click.option("--overlap", type=click.FloatRange(0, 1, max_open=True), default=None, help="Window overlap baked into predict_volume.")
@click.option("--blend", type=click.Choice(BLEND_NAMES), default="gaussian", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Windows per forward pass.")
@click.option("--noise-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="GAN Sketchers: z = 0 (0) or the mean over K fixed draws of z, baked into predict_volume.")
@click.option("--note", help="A sentence put first in the model card (e.g. 'trained on simulated data').")
@click.option("--space", type=click.Choice(SPACE_NAMES), default=None,
              help="The space the training scans were in (msgan synthesize registers raw scans to it).")
@click.option("--overwrite", is_flag=True, help="Replace an existing SavedModel folder.")
def export_command(run_dir, out, overlap, blend, batch_size, noise_samples, note, space, overwrite):
    """Export a run as a SavedModel (serving_default + predict_volume) with a model card."""
    from pathlib import Path

    from data_tools.io.guard import check_outputs
    from msgan.inference.export import export_run

    check_outputs({"--out": out}, {"--run": run_dir})
    if not Path(out).name.isdigit():
        click.echo(f"note: TF Serving expects a numeric version folder (saved_models/<name>/1), got {out}",
                   err=True)
    path = export_run(run_dir, out, overwrite=overwrite, overlap=overlap, blend=blend, batch_size=batch_size,
                      noise_samples=noise_samples, note=note, space=space)
    click.echo(f"exported {path} (signatures serving_default, predict_volume)")
