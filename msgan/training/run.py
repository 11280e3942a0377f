"""One training run end to end, and its folder (docs/ARCHITECTURE.md, "Run folder").

``runs/<name>/`` gets ``config.json`` and ``normalization.json`` at the start (so a
killed run can be resumed with ``--resume``), ``checkpoints/``, ``logs/`` and
``history.csv`` while it trains, and ``model.weights.h5`` (written atomically) only when
training has finished: a folder without it is an unfinished run, never a wrong model.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

import keras
import tensorflow as tf

from data_tools.contracts import RunConfig, ShardIndex, look_up_option
from data_tools.io.atomic import atomic_output_file
from data_tools.shards.normalize import NORMALIZE_CHOICES
from msgan.errors import ConfigError, InputFileError, OutputExistsError, TrainingError
from msgan.training import zoo
from msgan.training.checkpoints import TrainingState
from msgan.training.early_stopping import StripEarlyStopping
from msgan.training.loop import FitOptions, fit
from msgan.training.precision import check_precision, scaled_optimizer
from msgan.training.presets import OPTIMIZER_NAMES, TrainOptions
from msgan.training.records import Records
from msgan.training.steps import SupervisedStep
from msgan.training.stop import stop_on_sigterm
from msgan.training.traced_folds import TracedFolds
from msgan.training.strategy import choose_strategy, is_chief, peer_failure
from msgan.training.two_stage import GanStageOptions, stage_gans, train_stages

log = logging.getLogger(__name__)

#: config.json keys that --resume lets differ; every other key (any setting added later
#: included) must match. epochs: to extend a run; checkpoint_every: when, not what, is
#: saved; data: the shard folder may be mounted elsewhere (what it holds is compared
#: through task, inputs, target, layout, patch and the subjects).
RESUME_MAY_CHANGE = ("epochs", "checkpoint_every", "data", "jit_compile")
#: config.json keys added later, and their value in a run written before them
ADDED_LATER = {"precision": "float32", "jit_compile": False}


def kind_of(model: str) -> str:
    return zoo.model_kind(model)


def make_optimizer(name: str, lr: float, precision: str = "float32"):
    """The thesis's optimisers with Keras defaults otherwise (it states only the rates);
    loss-scaled for ``mixed_float16`` (:func:`msgan.training.precision.scaled_optimizer`)."""
    optimizer = look_up_option(name, dict(zip(OPTIMIZER_NAMES, (keras.optimizers.SGD, keras.optimizers.Adam))),
                               "optimizer")
    return scaled_optimizer(optimizer(lr), precision)


def split_subjects(available: list[str], opts: TrainOptions) -> tuple[list[str], list[str]]:
    """(training ids, validation ids) after --val-subjects / --exclude-subjects, checked."""
    unknown = [s for s in [*opts.val_subjects, *opts.exclude_subjects, *(opts.train_subjects or [])]
               if s not in available]
    if unknown:
        raise ConfigError(f"subject(s) {', '.join(unknown)} not in the shards "
                          f"(they hold {', '.join(available)})", opts.data)
    val = [s for s in opts.val_subjects if s not in opts.exclude_subjects]
    pool = opts.train_subjects if opts.train_subjects is not None else available
    train = [s for s in pool if s not in val and s not in opts.exclude_subjects]
    if not train:
        raise ConfigError("no subject left for training", opts.data)
    return train, val


def fit_options(opts: TrainOptions, keep_best: bool) -> FitOptions:
    stopper = StripEarlyStopping(opts.strip_length, opts.strips) if opts.early_stopping else None
    return FitOptions(epochs=opts.epochs, steps_per_epoch=opts.steps_per_epoch,
                      checkpoint_every=opts.checkpoint_every, early_stopping=stopper,
                      keep_best=keep_best, progress=opts.progress)


def train_built_model(strategy, model, kind: str, opts: TrainOptions, train_data, val_data,
                      run_dir: str | Path, loss_for=zoo.reconstruction_loss, chief: bool = True,
                      on_step=None, adversarial=None, traced: TracedFolds | None = None) -> list[dict]:
    """Train an already built model of ``kind`` (supervised | gan | two_stage_gan).

    ``opts`` must be resolved (:meth:`TrainOptions.resolved`); ``loss_for(name)`` gives
    the reconstruction loss callables, ``adversarial`` the GAN cross-entropies
    (``msgan.losses`` if None). Continues from the checkpoints in ``run_dir`` if any.
    ``traced``: the step objects of an earlier fold of the same cross-validation, reused.
    Ch. 2 models end with their best-validation weights (early stopping, sec. 2.2.3);
    ch. 3-4 models, GANs and supervised baselines alike, with their last ones: the thesis
    trains every method of those comparisons for fixed epochs (``opts.keep_best``).
    """
    run_dir = Path(run_dir)
    if kind == "supervised":
        def make_step():
            with strategy.scope():
                optimizer = make_optimizer(opts.optimizer, opts.lr, opts.precision)
            return SupervisedStep(strategy, model, optimizer, loss_for(opts.loss), jit_compile=opts.jit_compile)

        step = traced.step("train", make_step) if traced is not None else make_step()
        state = TrainingState(step, run_dir / "checkpoints" / "train", seed=opts.seed, chief=chief)
        state.restore_latest()
        summary = fit(step, train_data, state, fit_options(opts, keep_best=opts.keep_best), val_data=val_data,
                      records=Records(run_dir, "train", enabled=chief), on_step=on_step)
        return [{"stage": "train", **summary}]
    if kind not in ("gan", "two_stage_gan"):
        raise ConfigError(f"unknown model kind {kind!r}")
    gans = [model] if kind == "gan" else stage_gans(model, opts.refinements)
    stages = [GanStageOptions(loss_for(stage.loss), fit_options(opts, keep_best=False), learning_rate=stage.lr,
                              lam=stage.lam, d_steps=opts.d_steps, label_smoothing=opts.label_smoothing,
                              jit_compile=opts.jit_compile)
              for stage in opts.stages()[:len(gans)]]
    return train_stages(strategy, gans, stages, lambda lr: make_optimizer(opts.optimizer, lr, opts.precision),
                        train_data, run_dir, val_data=val_data, seed=opts.seed, chief=chief,
                        on_step=on_step, adversarial=adversarial, traced=traced)


def run_config(opts: TrainOptions, index: Mapping, train_ids, val_ids) -> dict:
    """The run's ``config.json`` as a dict: what the shards (a :class:`ShardIndex`) hold,
    the options, the split."""
    config = {key: index.get(key) for key in ("task", "inputs", "target", "layout")}
    config["patch"] = index.get("patch_size")
    config["fingerprint"] = index.get("fingerprint")  # data_tools.io.fingerprint, for predict
    config.update({k: v for k, v in dataclasses.asdict(opts).items()
                   if k not in ("run", "resume", "overwrite", "progress", "train_subjects", "connect_timeout")})
    config["data"] = str(Path(opts.data).resolve())
    if opts.init_weights is None:  # absent, so runs from before the option still resume
        config.pop("init_weights", None)
    else:
        config["init_weights"] = str(Path(opts.init_weights).resolve())
    config.update(train_subjects=list(train_ids), val_subjects=list(val_ids))
    return config


def resume_differences(saved: dict, config: dict) -> list[str]:
    """``"key saved -> now"`` for every config key that differs, except :data:`RESUME_MAY_CHANGE`."""
    now = {**ADDED_LATER, **json.loads(json.dumps(config))}  # compare as stored: tuples are lists in JSON
    saved = {**ADDED_LATER, **saved}
    keys = [k for k in dict.fromkeys([*saved, *now]) if k not in RESUME_MAY_CHANGE]
    absent = "(absent)"
    return [f"{k} {json.dumps(saved.get(k, absent))} -> {json.dumps(now.get(k, absent))}"
            for k in keys if saved.get(k, absent) != now.get(k, absent)]


def open_run_dir(run_dir: Path, config: dict, resume: bool, overwrite: bool) -> None:
    """Create (or check, with resume) the run folder and write config/normalisation."""
    config_path = run_dir / "config.json"
    if resume:
        if not config_path.exists():
            raise ConfigError("--resume: no config.json here, nothing to resume", run_dir)
        old = RunConfig.from_json(config_path).to_dict()
        changed = resume_differences(old, config)
        if changed:
            raise ConfigError(f"--resume with settings other than the run's: {'; '.join(changed)}; "
                              "repeat the original options (or start again with --overwrite)", config_path)
        with atomic_output_file(config_path, overwrite=True) as tmp:  # e.g. more epochs
            RunConfig.from_dict(config, config_path).to_json(tmp)
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise OutputExistsError("run folder exists; pass --resume to continue it or --overwrite "
                                    "to start again", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output_file(config_path, overwrite=True) as tmp:
        RunConfig.from_dict(config, config_path).to_json(tmp)


def copy_normalization(data: str | Path, index: ShardIndex, run_dir: Path) -> None:
    """``normalization.json`` from the shard folder (or the index's statistics)."""
    source = Path(data) / "normalization.json"
    with atomic_output_file(run_dir / "normalization.json", overwrite=True) as tmp:
        if source.exists():
            shutil.copyfile(source, tmp)
        else:
            stats = index.get("normalization")
            if stats is None:
                raise InputFileError("the shards carry no normalisation statistics", Path(data) / "index.json")
            tmp.write_text(json.dumps(stats, indent=2) + "\n")


def check_preset_shards(preset: str | None, index: ShardIndex, data) -> None:
    """A named preset trains only on shards normalised as it prescribes (predictions would
    otherwise be de-normalised by the wrong rule)."""
    from msgan.training.presets import recipe_settings

    wanted = recipe_settings(preset)["shards"].get("normalize")
    scope = (index.normalization or {}).get("scope")
    if wanted and scope != NORMALIZE_CHOICES[wanted][0]:
        raise ConfigError(f"--preset {preset} trains on shards normalised {wanted!r}, these are {scope!r}; "
                          f"write them with make-tfrecords --preset {preset}", Path(data) / "index.json")


def train(options: TrainOptions) -> dict:
    """``msgan train``: read the shards, build the model, train it, write the run folder."""
    return train_and_keep(options)[0]


def train_and_keep(options: TrainOptions, traced: TracedFolds | None = None):
    """:func:`train`, also returning ``(summary, model, strategy)`` for evaluation (CV, tuning).

    ``traced``: the strategy, model and traced steps of an earlier fold of the same
    cross-validation, reused with their initial values (:mod:`msgan.training.traced_folds`)."""
    opts = options.resolved()
    if kind_of(opts.model) == "two_stage_gan":  # the number of refiners is fixed at build time
        opts = dataclasses.replace(opts, model_kwargs={**opts.model_kwargs, "refinements": opts.refinements})
    index = zoo.read_shard_index(opts.data)
    check_preset_shards(opts.preset, index, opts.data)
    train_ids, val_ids = split_subjects(list(index.subject_groups()), opts)
    kind = kind_of(opts.model)
    run_dir = Path(opts.run)
    config = run_config(opts, index, train_ids, val_ids)
    if traced is not None and traced.strategy is None:
        traced.strategy = choose_strategy(connect_timeout=opts.connect_timeout)
    strategy = traced.strategy if traced is not None else choose_strategy(connect_timeout=opts.connect_timeout)
    chief = is_chief(strategy)
    keras.utils.set_random_seed(opts.seed)

    check_precision(opts.precision, opts.jit_compile)

    def build():
        with strategy.scope():
            return zoo.build_model(opts.model, len(index.inputs), opts.model_kwargs, opts.precision)

    model = traced.model(build) if traced is not None else build()
    zoo.check_batch_norm_extent(model, opts.model, index.example_shape, opts.batch)
    if opts.init_weights is not None and not opts.resume:  # a resumed run has its checkpoints
        start_from(model, opts.init_weights, opts.model, index.inputs)
    if chief:  # after every check, so that a refused run leaves no folder behind
        open_run_dir(run_dir, config, opts.resume, opts.overwrite)
        copy_normalization(opts.data, index, run_dir)
    train_data, val_data = zoo.shard_datasets(opts.data, train_ids, val_ids, opts.batch, opts.seed,
                                              repeat=opts.steps_per_epoch is not None,
                                              contrast_augment=opts.contrast_augment)
    try:
        with stop_on_sigterm():
            stages = train_built_model(strategy, model, kind, opts, train_data, val_data, run_dir,
                                       chief=chief, traced=traced)
    except tf.errors.OpError as exc:
        line = peer_failure(exc)
        if line is None:
            raise
        raise TrainingError(line, run_dir) from None
    summary = {"run": str(run_dir), "model": opts.model, "stages": stages, "chief": chief}
    if chief:
        save_weights(model, run_dir / "model.weights.h5")
        with atomic_output_file(run_dir / "summary.json", overwrite=True) as tmp:
            tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary, model, strategy


def start_from(model, run_dir: str | Path, model_name: str, inputs) -> None:
    """Load a finished run's weights into ``model``, the start of a fine-tuning run: the run
    must have trained the same model on the same inputs, in the same order."""
    run_dir = Path(run_dir)
    for name in (RunConfig.FILE, "model.weights.h5"):
        if not (run_dir / name).exists():
            raise InputFileError(f"--init-weights: {name} missing (not a finished run)", run_dir)
    config = RunConfig.from_json(run_dir / RunConfig.FILE)
    if config.model != model_name or tuple(config.inputs) != tuple(inputs):
        raise ConfigError(f"--init-weights: that run trained {config.model} on {','.join(config.inputs)}; "
                          f"this one trains {model_name} on {','.join(inputs)}", run_dir / RunConfig.FILE)
    try:
        model.load_weights(str(run_dir / "model.weights.h5"))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"--init-weights: cannot load these weights into {model_name} ({exc}); "
                             "same --model-kwargs?", run_dir / "model.weights.h5") from None


def save_weights(model, path: Path) -> None:
    with atomic_output_file(path, overwrite=True) as tmp:
        model.save_weights(str(tmp))


def load_run(run_dir: str | Path, precision: str = "float32"):
    """``(model, config, normalizer)`` of a finished run, ready to predict; ``config`` is the
    checked :class:`~data_tools.contracts.RunConfig` (a read-only mapping of its keys);
    the model computes in ``precision`` (the weights are float32 whatever the training's)."""
    from data_tools.shards.normalize import Normalizer

    run_dir = Path(run_dir)
    for name in ("config.json", "normalization.json", "model.weights.h5"):
        if not (run_dir / name).exists():
            hint = " (the run has not finished: --resume it)" if name == "model.weights.h5" else ""
            raise InputFileError(f"{name} missing{hint}", run_dir)
    config = RunConfig.from_json(run_dir / RunConfig.FILE)
    model = zoo.build_model(config.model, len(config.inputs), config.hyperparameters, precision)
    try:
        model.load_weights(str(run_dir / "model.weights.h5"))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"cannot load weights ({exc})", run_dir / "model.weights.h5") from None
    return model, config, Normalizer.from_json(run_dir / "normalization.json")
