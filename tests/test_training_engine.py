"""The training engine on toy models and in-memory data: resume, NaN guard, two stages, records."""
from __future__ import annotations

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_framework_config

from msgan.errors import TrainingError
from msgan.training.checkpoints import TrainingState
from msgan.training.early_stopping import StripEarlyStopping
from msgan.training.loop import FitOptions, fit
from msgan.training.records import Records
from msgan.training.strategy import choose_strategy
from msgan.training.steps import SupervisedStep
from msgan.training.two_stage import GanStageOptions, stage_gans, train_stages
from training_toys import (ToyTwoStage, all_weights, dataset_fn, l1_loss, max_difference,
                           mse_loss, regressor, toy_adversarial, toy_batches)


@pytest.fixture
def deterministic_ops():
    tf.config.experimental.enable_op_determinism()
    yield
    tf_framework_config.disable_op_determinism()


class Killed(Exception):
    """Stands for the process being killed after some step."""


def kill_at(step_number):
    def on_step(step, losses):
        if step == step_number:
            raise Killed
    return on_step


def supervised_run(run_dir, data, epochs=3, resume=False, on_step=None, seed=1, val=None,
                   early_stopping=None, lr=0.05):
    keras.utils.set_random_seed(seed)
    strategy = choose_strategy()
    with strategy.scope():
        model = regressor()
        optimizer = keras.optimizers.Adam(lr)
    tf.random.set_seed(0)  # the run's seed (data order), as a resumed run would set it again
    step = SupervisedStep(strategy, model, optimizer, mse_loss)
    state = TrainingState(step, run_dir / "checkpoints", seed=0)
    if resume:
        assert state.restore_latest()
    summary = fit(step, data, state,
                  FitOptions(epochs=epochs, checkpoint_every=3, progress=False,
                             early_stopping=early_stopping),
                  val_data=val, records=Records(run_dir, "train"), on_step=on_step)
    return model, state, summary


def test_killed_run_resumes_to_the_uninterrupted_weights(tmp_path, deterministic_ops):
    data = dataset_fn(toy_batches(8), batch=2)  # 4 steps per epoch, reshuffled each epoch
    val = dataset_fn(toy_batches(2, seed=5), shuffle=False)
    full, _, _ = supervised_run(tmp_path / "full", data, val=val)

    with pytest.raises(Killed):  # killed at step 8: the last checkpoint is at step 6
        supervised_run(tmp_path / "cut", data, val=val, on_step=kill_at(8))
    # A new process would build the model afresh (other initial weights) and --resume.
    resumed, state, summary = supervised_run(tmp_path / "cut", data, val=val, resume=True, seed=99)
    assert summary["steps"] == 12 and summary["epochs"] == 3
    assert max_difference(all_weights([full]), all_weights([resumed])) < 1e-6
    with open(tmp_path / "cut" / "history.csv") as handle:
        epochs = [int(r["epoch"]) for r in csv.DictReader(handle)]
    assert epochs == [1, 2, 3]  # the epoch redone after the kill is recorded once


def history(run_dir):
    with open(run_dir / "history.csv") as handle:
        return [{k: v for k, v in row.items() if k.startswith("train/") or k in ("epoch", "step",
                                                                              "val_mse")}
                for row in csv.DictReader(handle)]


def test_resumed_epoch_is_recorded_as_the_uninterrupted_run_records_it(tmp_path, deterministic_ops):
    """history.csv's mean loss of the interrupted epoch covers its steps before the checkpoint too."""
    data = dataset_fn(toy_batches(8), batch=2)
    full, _, _ = supervised_run(tmp_path / "full", data)
    with pytest.raises(Killed):  # step 8 = epoch 2's last; the checkpoint at step 6 is mid-epoch
        supervised_run(tmp_path / "cut", data, on_step=kill_at(8))
    supervised_run(tmp_path / "cut", data, resume=True, seed=99)
    expected, got = history(tmp_path / "full"), history(tmp_path / "cut")
    assert [r["epoch"] for r in got] == ["1", "2", "3"]
    for want, have in zip(expected, got):
        assert float(have["train/loss"]) == pytest.approx(float(want["train/loss"]), rel=1e-5)


def test_stop_request_checkpoints_the_current_step_and_resume_continues(tmp_path, deterministic_ops):
    """What SIGTERM does (msgan.training.stop): checkpoint at once, TrainingStopped, --resume."""
    from msgan.errors import TrainingStopped
    from msgan.training.stop import request_stop, stop_on_sigterm

    data = dataset_fn(toy_batches(8), batch=2)
    full, _, _ = supervised_run(tmp_path / "full", data)

    def stop_at_5(step, losses):
        if step == 5:
            request_stop()

    with stop_on_sigterm(), pytest.raises(TrainingStopped) as exc:
        supervised_run(tmp_path / "cut", data, on_step=stop_at_5)
    assert exc.value.exit_code == 143
    latest = tf.train.latest_checkpoint(str(tmp_path / "cut" / "checkpoints"))
    assert tf.train.load_variable(latest, "step/.ATTRIBUTES/VARIABLE_VALUE") == 5  # not 3
    resumed, state, summary = supervised_run(tmp_path / "cut", data, resume=True, seed=99)
    assert summary["steps"] == 12
    assert max_difference(all_weights([full]), all_weights([resumed])) < 1e-6
    assert history(tmp_path / "cut")[1]["train/loss"] == pytest.approx(
        history(tmp_path / "full")[1]["train/loss"])


def nan_once_data(arrays, bad_batch=1):
    """The first pass over the data has a NaN voxel in one batch; later passes are clean."""
    clean = dataset_fn(arrays, batch=2, shuffle=False)
    calls = []

    def make(epoch):
        calls.append(epoch)
        if len(calls) > 1:
            return clean(epoch)
        poisoned = {k: np.array(v) for k, v in arrays.items()}
        poisoned["target"][2 * bad_batch, 3, 3, 3] = np.nan
        return dataset_fn(poisoned, batch=2, shuffle=False)(epoch)

    return make


def test_nan_restores_the_checkpoint_and_halves_the_learning_rate(tmp_path, caplog):
    arrays = toy_batches(8)
    with caplog.at_level("WARNING"):
        model, state, summary = supervised_run(tmp_path, nan_once_data(arrays), epochs=2, lr=0.04)
    assert state.learning_rates()["optimizer"] == pytest.approx(0.02)
    assert int(state.nonfinite_events.numpy()) == 1
    assert summary["steps"] == 8  # the poisoned step was redone on clean data
    assert all(np.isfinite(w).all() for w in all_weights([model]))
    assert "learning rates halved" in caplog.text


def test_third_nan_stops_with_a_training_error(tmp_path):
    arrays = toy_batches(4)
    arrays["target"][1, 0, 0, 0] = np.nan  # every pass is poisoned
    with pytest.raises(TrainingError, match="3rd time"):
        _, state, _ = supervised_run(tmp_path, dataset_fn(arrays, batch=2, shuffle=False), epochs=2)


def test_records_history_images_and_best_weights(tmp_path):
    data = dataset_fn(toy_batches(4), batch=2)
    val = dataset_fn(toy_batches(2, seed=5), shuffle=False)
    model, state, summary = supervised_run(tmp_path, data, epochs=3, val=val,
                                           early_stopping=StripEarlyStopping(1, 1))
    with open(tmp_path / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    vals = [float(r["val_mse"]) for r in rows]
    assert {"train/loss", "val_mse", "lr/optimizer"} <= set(rows[0])
    # keep_best: the model ends with the weights of the best validation epoch
    from msgan.training.loop import validation_mse
    from msgan.training.steps import make_evaluator
    step = SupervisedStep(state.step_object.strategy, model, state.step_object.optimizer, mse_loss)
    final, _ = validation_mse(step.strategy, make_evaluator(step.strategy, step), val)
    assert final == pytest.approx(min(vals), rel=1e-5)
    assert list((tmp_path / "logs" / "train").glob("events.out.tfevents.*"))


def test_two_stage_training_resumes_inside_the_refiner_stage(tmp_path, deterministic_ops):
    data = dataset_fn(toy_batches(4), batch=2)  # 2 steps per epoch, 2 epochs per stage

    def run(run_dir, seed, on_step=None):
        keras.utils.set_random_seed(seed)
        strategy = choose_strategy()
        with strategy.scope():
            model = ToyTwoStage(refinements=1)
        tf.random.set_seed(0)
        options = [GanStageOptions(l1_loss, FitOptions(epochs=2, checkpoint_every=1, progress=False),
                                   learning_rate=lr, d_steps=2, label_smoothing=True)
                   for lr in (1e-3, 5e-4)]
        summaries = train_stages(strategy, stage_gans(model, 1), options,
                                 lambda lr: keras.optimizers.Adam(lr), data, run_dir,
                                 seed=3, on_step=on_step, adversarial=toy_adversarial)
        return model, summaries

    full, summaries = run(tmp_path / "full", seed=1)
    assert [s["steps"] for s in summaries] == [4, 4]

    calls = []

    def kill_in_refiner_stage(step, losses):
        calls.append(step)
        if len(calls) == 7:  # stage 0 made 4 steps; this is stage 1's step 3
            raise Killed

    with pytest.raises(Killed):
        run(tmp_path / "cut", seed=1, on_step=kill_in_refiner_stage)
    # Resumed with other initial weights: the Sketcher comes back from its finished stage's
    # checkpoint, the Refiner from its step-2 checkpoint, labels from (seed, step).
    resumed, summaries = run(tmp_path / "cut", seed=99)
    assert [s["steps"] for s in summaries] == [4, 4]
    models = lambda m: [m.sketcher.generator, m.sketcher.discriminator,
                        m.refiners[0].generator, m.refiners[0].discriminator]
    assert max_difference(all_weights(models(full)), all_weights(models(resumed))) < 1e-6
