"""Steps per second of the training engine against a bare tf.function loop (issue 5).

    python scripts/bench_train.py --data SHARDS [--steps 30] [--batch 1] [--filters 64]

SHARDS: 64^3 patches, e.g. ``msgan make-tfrecords --manifest examples/open_ms_data.csv
--root ../shared/data/open_ms_data --task flair --inputs T1,T2 --target FLAIR --patch 64
--out /tmp/oms64``. Both sides train the same ``fcn`` with SGD on the same batches; the
engine reads them from the shards through tf.data and a distribution strategy, with its
progress bar, per-step NaN check, checkpoints (every 10 steps and at each epoch's end)
and history/TensorBoard records; the bare loop iterates over batches held in memory.
The first epoch (tracing) is excluded on both sides. Prints both rates and their ratio
(goal: at least 0.9).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per side")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from msgan.training import zoo
    from msgan.training.checkpoints import TrainingState
    from msgan.training.loop import FitOptions, fit
    from msgan.training.records import Records
    from msgan.training.run import make_optimizer
    from msgan.training.steps import SupervisedStep
    from msgan.training.strategy import choose_strategy

    index = zoo.read_shard_index(args.data)
    subjects = list(zoo.index_subjects(index))
    n_inputs = len(index.inputs)
    kwargs = {"filters": args.filters, "n_layers": args.layers}
    strategy = choose_strategy()
    warmup = 5
    train_data, _ = zoo.shard_datasets(args.data, subjects, [], args.batch, 0, repeat=True)

    # --- engine: what `msgan train` runs, first epoch (tracing) untimed ------------------
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = zoo.build_model("fcn", n_inputs, kwargs)
        optimizer = make_optimizer("sgd", 5e-4)
    step = SupervisedStep(strategy, model, optimizer, zoo.reconstruction_loss("mse"))
    with tempfile.TemporaryDirectory() as run_dir:
        state = TrainingState(step, Path(run_dir) / "checkpoints")
        records = Records(run_dir, "train")
        fit(step, train_data, state, FitOptions(epochs=1, steps_per_epoch=warmup, checkpoint_every=10),
            records=records)
        start = time.perf_counter()
        # epoch 2 of `steps` steps: tf.data, strategy, NaN check, progress bar, checkpoints
        # every 10 steps and at the epoch's end, history.csv and TensorBoard records
        fit(step, train_data, state, FitOptions(epochs=2, steps_per_epoch=args.steps, checkpoint_every=10),
            records=records)
        engine_seconds = time.perf_counter() - start
    engine_rate = args.steps / engine_seconds

    # --- bare loop: same model, same batches, in memory ----------------------------------
    batches = [b for b in train_data(1).take(args.steps)]
    keras.utils.set_random_seed(0)
    bare_model = zoo.build_model("fcn", n_inputs, kwargs)
    bare_optimizer = keras.optimizers.SGD(5e-4)
    loss_fn = zoo.reconstruction_loss("mse")

    @tf.function
    def bare_step(batch):
        with tf.GradientTape() as tape:
            loss = loss_fn(batch, bare_model(batch["inputs"], training=True))
        grads = tape.gradient(loss, bare_model.trainable_variables)
        bare_optimizer.apply_gradients(zip(grads, bare_model.trainable_variables))
        return loss

    for batch in batches[:warmup]:
        bare_step(batch).numpy()
    start = time.perf_counter()
    for batch in batches:
        loss = bare_step(batch)
    loss.numpy()
    bare_rate = args.steps / (time.perf_counter() - start)

    shape = index.get("example_shape")
    print(f"fcn {args.filters}x{args.layers}, examples {shape}, batch {args.batch}, "
          f"{strategy.num_replicas_in_sync} replica(s), {args.steps} timed steps")
    print(f"engine (msgan train path): {engine_rate:.3f} steps/s")
    print(f"bare tf.function loop:     {bare_rate:.3f} steps/s")
    print(f"ratio engine/bare: {engine_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
