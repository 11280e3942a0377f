"""``msgan train``, ``msgan cv``, ``msgan tune``: thin wrappers over :mod:`msgan.training`."""
from __future__ import annotations

import json
import math

import click

from data_tools.contracts import PRECISIONS
from msgan.training.presets import DEFAULT_CONNECT_TIMEOUT, DEFAULT_LAMBDA, LOSS_NAMES, OPTIMIZER_NAMES, RECIPES

LOSSES = click.Choice(LOSS_NAMES)
POSITIVE = click.FloatRange(min=0, min_open=True)


def _ids(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _first(*values):
    return next(v for v in values if v is not None)


def _data_options() -> list:
    """What to train on and how long: recipe, model, shards, run folder, subjects, epochs, batches."""
    return [
        click.option("--preset", type=click.Choice(list(RECIPES)), help="Named training recipe: "
                     "real-flair (FLAIR on multi-scanner cohorts, issue 19; shards from make-tfrecords "
                     "--preset real-flair). Default: the thesis's per-model settings."),
        click.option("--model", required=True, help="Model name from the zoo (fcn, unet, cgan, "
                     "cfsagan, sketcher_refiner, refiner_cfsagan, ...)."),
        click.option("--data", required=True, type=click.Path(), help="TFRecord shard folder."),
        click.option("--run", "run_dir", required=True, type=click.Path(), help="Run folder to write."),
        click.option("--val-subjects", default="", help="Comma-separated validation subject ids."),
        click.option("--exclude-subjects", default="", help="Comma-separated ids to leave out."),
        click.option("--epochs", type=click.IntRange(min=1), help="Epochs (per stage). Default per model: fcn 500 "
                     "with early stopping, ch. 3 models 400, ch. 4 models 370."),
        click.option("--steps-per-epoch", type=click.IntRange(min=1), help="Batches per epoch (default: one pass)."),
        click.option("--batch", type=click.IntRange(min=1), help="Global batch size (default 1, as the thesis)."),
    ]


def _objective_options() -> list:
    """What the training optimises and how: losses, lambdas, learning rates, optimizer, GAN settings."""
    return [
        click.option("--loss", type=LOSSES, help="Loss (the Sketcher's for two-stage models). "
                     "Default: mse for fcn/unet_small/mlp, l1 otherwise."),
        click.option("--refiner-loss", type=LOSSES, help="Refiner loss: default wl1 "
                     "(sketcher_refiner, eq. 3.5), nwl1 (refiner_cfsagan, eq. 4.4)."),
        click.option("--lambda-sketcher", type=click.FloatRange(min=0), default=None, help="lambda_S of eq. 3.6: "
                     f"weight of the Sketcher's (or a single GAN's) L1 term [default {DEFAULT_LAMBDA:g}, "
                     "Isola et al.'s pix2pix value; the thesis states none]."),
        click.option("--lambda-refiner", type=click.FloatRange(min=0), default=None, help="lambda_R of eq. 3.6: "
                     f"weight of each Refiner's WL1/NWL1 term [default {DEFAULT_LAMBDA:g}; msgan's "
                     "WL1 is on the L1's scale and NWL1 close to it (a uniform error costs 3 sum f(1-f)/2 of the L1, "
                     "f the regions' fractions), so equal lambdas balance the stages about alike]."),
        click.option("--lambda", "lam", type=click.FloatRange(min=0), default=None,
                     help="Both lambdas at once (a --lambda-sketcher/--lambda-refiner wins)."),
        click.option("--lr", type=POSITIVE, help="Learning rate (Sketcher's for two-stage). Default: "
                     "SGD 5e-4 for ch. 2 models, Adam 1e-4 otherwise."),
        click.option("--refiner-lr", type=POSITIVE, help="Refiner learning rate (default 5e-5)."),
        click.option("--optimizer", type=click.Choice(OPTIMIZER_NAMES), help="Default: sgd for "
                     "fcn/unet_small/mlp (sec. 2.2.3), adam otherwise (sec. 3.3.1, 4.3.1)."),
        click.option("--d-steps", type=click.IntRange(min=1), help="Discriminator updates per generator step "
                     "(default 2 for CF-SAGANs, sec. 4.3.1; 1 otherwise)."),
        click.option("--label-smoothing/--no-label-smoothing", default=None,
                     help="Smoothed labels U(0.9,1)/U(0,0.1) (default on for CF-SAGANs)."),
        click.option("--early-stopping/--no-early-stopping", default=None,
                     help="Sec. 2.2.3 rule: stop after 3 successive 5-epoch strips of rising "
                     "validation error (default on for fcn/unet_small/mlp)."),
        click.option("--contrast-augment", type=click.FloatRange(0, 1), default=None, help="Strength s of the "
                     "training-time contrast augmentation: per example and input, z -> a sign(z)|z|^g + b "
                     "inside the brain, ln g ~ U(-s,s) (docs/travel.md). Default: the preset's (real-flair: "
                     "0, off)."),
        click.option("--refinements", type=click.IntRange(min=0), help="Refinement stages K of two-stage models "
                     "(0 = Sketcher alone; default 1; sec. 3.3.3)."),
        click.option("--model-kwargs", default="{}", help='JSON hyperparameters for the model, '
                     'e.g. \'{"width": 64, "depth": 3}\'.'),
    ]


def _run_options() -> list:
    """How the run goes: checkpoints, seed, resume, progress, precision, cluster timeout."""
    return [
        click.option("--checkpoint-every", type=click.IntRange(min=0), default=500, show_default=True,
                     help="Steps between checkpoints (one is also written every epoch)."),
        click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True),
        click.option("--resume", is_flag=True, help="Continue a killed run from its checkpoints."),
        click.option("--overwrite", is_flag=True, help="Delete an existing run folder and start again."),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
        click.option("--precision", type=click.Choice(PRECISIONS), default=None,
                     help="Compute precision [default float32]: mixed_bfloat16 or mixed_float16 compute "
                     "the layers in 16 bits (variables, output layer and losses float32; float16 scales "
                     "the loss). For GPUs (docs/performance.md); mixed_float16 on a CPU needs --jit-compile."),
        click.option("--jit-compile", is_flag=True, help="XLA-compile each training step (GPUs; slow on CPUs)."),
        click.option("--connect-timeout", type=click.FloatRange(min=1), default=DEFAULT_CONNECT_TIMEOUT,
                     show_default=True, help="Seconds a worker named by TF_CONFIG waits for the "
                     "others, at start and in every step, before it stops with an error."),
    ]


def _common(command):
    """Options shared by train, cv and tune (defaults per model: see the README table)."""
    for option in reversed([*_data_options(), *_objective_options(), *_run_options()]):
        command = option(command)
    return command


def _options(kw, require_validation=True):
    from data_tools.io.guard import check_outputs
    from msgan.errors import ConfigError
    from msgan.training.cluster import read_tf_config
    from msgan.training.presets import TrainOptions

    try:
        model_kwargs = json.loads(kw["model_kwargs"])
    except ValueError as exc:
        raise ConfigError(f"--model-kwargs is not JSON ({exc})") from None
    options = TrainOptions(
        model=kw["model"], data=kw["data"], run=kw["run_dir"], val_subjects=_ids(kw["val_subjects"]),
        exclude_subjects=_ids(kw["exclude_subjects"]), epochs=kw["epochs"],
        steps_per_epoch=kw["steps_per_epoch"], batch=kw["batch"], loss=kw["loss"],
        refiner_loss=kw["refiner_loss"], lr=kw["lr"], refiner_lr=kw["refiner_lr"],
        lambda_sketcher=_first(kw["lambda_sketcher"], kw["lam"], DEFAULT_LAMBDA),
        lambda_refiner=_first(kw["lambda_refiner"], kw["lam"], DEFAULT_LAMBDA),
        optimizer=kw["optimizer"],
        d_steps=kw["d_steps"], label_smoothing=kw["label_smoothing"],
        early_stopping=kw["early_stopping"], refinements=kw["refinements"], model_kwargs=model_kwargs,
        checkpoint_every=kw["checkpoint_every"], seed=kw["seed"], resume=kw["resume"],
        overwrite=kw["overwrite"], progress=not kw["no_progress"], connect_timeout=kw["connect_timeout"],
        preset=kw["preset"], init_weights=kw.get("init_weights"), precision=kw["precision"],
        jit_compile=kw["jit_compile"], contrast_augment=kw["contrast_augment"])
    options.resolved(require_validation)  # option errors now, before the slow TensorFlow import
    check_outputs({"--run": kw["run_dir"]}, {"--data": kw["data"], "--participants": kw.get("participants")})
    read_tf_config()  # and a bad TF_CONFIG too
    return options


@click.command("train")
@_common
@click.option("--init-weights", type=click.Path(file_okay=False), help="Start from the weights of this "
              "finished run (same model, inputs and --model-kwargs): e.g. fine-tune on real sessions a "
              "model pretrained on simulated ones (docs/travel.md).")
def train_command(**kw):
    """Train a model of the zoo on TFRecord shards into a run folder.

    Runs on every local GPU (MirroredStrategy), else the CPU, or on several machines when
    TF_CONFIG names several workers (MultiWorkerMirroredStrategy).
    """
    options = _options(kw)
    from msgan.training.run import train

    summary = train(options)
    if not summary["chief"]:  # under multi-worker training, worker 0 writes and says so
        click.echo(f"worker done: {sum(s['steps'] for s in summary['stages'])} steps; worker 0 "
                   f"writes {summary['run']}")
        return
    for stage in summary["stages"]:
        click.echo(f"{stage['stage']}: {stage['epochs']} epochs, {stage['steps']} steps, "
                   + (f"best validation MSE {stage['best_val_mse']:.4g}" if math.isfinite(stage["best_val_mse"])
                      else "no validation")
                   + (" (early stopped)" if stage["early_stopped"] else ""))
    click.echo(f"wrote {summary['run']}/model.weights.h5")


@click.command("cv")
@_common
@click.option("--folds", type=click.IntRange(min=2), default=3, show_default=True, help="Number of subject-level folds.")
@click.option("--val-per-fold", type=click.IntRange(min=0), default=None,
              help="Validation subjects taken from each fold's training folds. Default per "
              "model: 0 for ch. 3 models (dnn2, unet, cgan, sketcher_refiner; sec. 3.3.1), 3 "
              "for ch. 2 and ch. 4 models (sec. 4.3.1). Give every method of one comparison the same.")
@click.option("--early-stop-on-test", is_flag=True,
              help="Use the held-out fold itself for validation/early stopping, as chapter 2 "
              "did (its test errors are then optimistic).")
@click.option("--participants", type=click.Path(), help="participants.tsv (participant_id, "
              "group MS|HC) so that healthy controls are spread evenly across folds.")
def cv_command(folds, val_per_fold, early_stop_on_test, participants, **kw):
    """Subject-level cross-validation: one run per fold, test MSE per fold and averaged."""
    options = _options({**kw, "participants": participants}, require_validation=False)
    from msgan.training.cv import cross_validate

    rows = cross_validate(options, folds, val_per_fold, early_stop_on_test, participants)
    for row in rows:
        click.echo(f"fold {row['fold']}: test {row['test_subjects']}: MSE {row['test_mse']:.4g}")
    click.echo(f"wrote {kw['run_dir']}/results.csv and folds.json")


@click.command("tune")
@_common
@click.option("--max-trials", type=click.IntRange(min=1), default=12, show_default=True)
def tune_command(max_trials, **kw):
    """Keras Tuner grid search: fcn filters 32/64/96 x layers 2/3/4/6, or unet base filters 8/16/32."""
    options = _options(kw)
    from msgan.training.tune import tune

    rows = tune(options, max_trials)
    best = rows[0]
    click.echo(f"best: {', '.join(f'{k}={v}' for k, v in best.items() if k not in ('status',))}")
    click.echo(f"wrote {kw['run_dir']}/results.csv")
