"""``msgan ablate``: a thin wrapper over :func:`msgan.experiments.ablation.ablate`."""
from __future__ import annotations

import click

from data_tools.contracts import ABLATION_LAYOUTS, SINGLE_SESSION_TASK_NAMES, TASKS
from msgan.training.presets import OPTIMIZER_NAMES


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


@click.command("ablate")
@click.option("--model", "model", default="fcn", show_default=True, help="Network (or random_forest, gradient_boosting, "
              "modality_propagation) to retrain for every input variant.")
@click.option("--methods", help="More models to ablate the same way, e.g. mlp,unet_small,random_forest.")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-<id>/ses-<name>/<NAME>.nii.gz.")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path.")
@click.option("--root", type=click.Path(), help="Folder the manifest's relative paths start from.")
@click.option("--task", type=click.Choice(SINGLE_SESSION_TASK_NAMES), default="flair", show_default=True)
@click.option("--inputs", required=True, help="All input sequences, e.g. T1,T2,PD,T1SE,DIR.")
@click.option("--target", help="Target image (default: the task's, FLAIR for flair, PIB for myelin).")
@click.option("--test-subjects", required=True, help="Held-out subjects every variant is scored on.")
@click.option("--combos", help="Extra input combinations, e.g. T1+DIR,T2+DIR (Table 2.4c, 3.3).")
@click.option("--session", default="t0", show_default=True, help="Session to train and test on.")
@click.option("--no-drop", is_flag=True, help="Do not drop inputs one by one: train all inputs (and "
              "--combos) only, to compare models on the held-out subjects.")
@click.option("--layout", type=click.Choice(ABLATION_LAYOUTS), default="whole", show_default=True)
@click.option("--patch", type=click.IntRange(min=1), default=64, show_default=True, help="Patch size for --layout patches.")
@click.option("--tile", type=click.IntRange(min=1), default=256, show_default=True,
              help="Largest prediction tile (voxels a side) for stride-1 networks; 128 needs "
              "about an eighth of the memory of 256 on 1 mm brains, same result.")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs per training (default: the model's preset).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate (default: the model's preset).")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_NAMES), help="Optimiser (default: the preset).")
@click.option("--run", "out", required=True, type=click.Path(), help="Output folder (shards, runs, tables).")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def ablate_command(model, methods, cohort, manifest, root, task, inputs, target, test_subjects, combos,
                   session, no_drop, layout, patch, tile, epochs, lr, optimizer, out, seed, overwrite):
    """Retrain with each input removed (and named combinations); tabulate held-out MSE."""
    from data_tools.io.cohort import open_cohort, parse_names
    from data_tools.io.guard import check_outputs
    from msgan.experiments.ablation import ablate

    target = target or TASKS[task].target
    train_kwargs = {k: v for k, v in {"epochs": epochs, "lr": lr, "optimizer": optimizer}.items() if v is not None}
    data = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--run": out}, {"--cohort": data})
    summary = ablate(data, task, parse_names(inputs),
                     target, out, _csv(test_subjects), models=[model, *_csv(methods)], combos=_csv(combos),
                     session=session, layout=layout, patch=patch, train_kwargs=train_kwargs,
                     drop_each=not no_drop, seed=seed, tile=tile, overwrite=overwrite)
    for row in summary.itertuples():
        click.echo(f"{row.model:14s} {row.variant:14s} MSE {row.mse_mean:.4g}")
    click.echo(f"tables in {out}")
