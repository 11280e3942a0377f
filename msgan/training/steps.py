"""One training step as a ``tf.function`` under a distribution strategy (issue 5, items 2-3).

A *step object* owns the models and optimisers of one training stage and exposes the
same small interface to the epoch loop (:mod:`msgan.training.loop`):

- ``models`` / ``optimizers``: dicts of what is checkpointed and saved;
- ``train(distributed_batch, step) -> {name: global mean loss}``;
- ``predict(batch)``: the stage's prediction (validation, image summaries);
- ``learning_rates``: the optimisers whose rate the NaN guard halves.

Batches are the contract dicts of ``data_tools.shards.tfrecords.make_dataset`` (``inputs``,
``target``, ``roi``, ...). A reconstruction loss is any callable
``loss_fn(batch, prediction)`` returning per-example losses ``(B,)`` or the mean over
the replica's batch; :func:`global_average` turns either into this replica's share of the
mean over the global batch, so summing gradients across replicas gives the gradient of
the global mean, whatever the number of devices.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf

from msgan.training.precision import compiled_replica_fn

LossFn = Callable[[dict, tf.Tensor], tf.Tensor]
InputFn = Callable[..., tf.Tensor]  # (batch, training=False) -> the generator's input


def default_input(batch: dict, training: bool = False) -> tf.Tensor:
    """The generator's input: the MRI. ``training`` tells a chained input (a Refiner's,
    :func:`msgan.training.two_stage.chained_input_fn`) whether to sample the Sketcher's z."""
    return batch["inputs"]


def global_average(loss: tf.Tensor, local_batch: tf.Tensor) -> tf.Tensor:
    """This replica's share of the mean over the global batch (call in replica context).

    ``loss`` is per example ``(B,)`` or already the mean over the local batch; the global
    batch size is summed over replicas, so uneven last batches are averaged correctly.
    """
    local = tf.cast(local_batch, tf.float32)
    global_batch = tf.distribute.get_replica_context().all_reduce("sum", local)
    if loss.shape.rank == 0:
        # A replica left without examples (global batch smaller than the number of devices)
        # has a NaN mean; its share is zero.
        return tf.where(local > 0, loss * local / global_batch, 0.0)
    return tf.reduce_sum(loss) / global_batch  # = tf.nn.compute_average_loss, float batch size


def smoothed_labels(shape, seed, smooth: bool):
    """Per-patch "real" labels of real and fake pairs: 1/0, or uniform in [0.9, 1] and
    [0, 0.1] (sec. 4.3.1, Salimans 2016).

    The same draw as ``msgan.losses.target_labels``, but stateless: ``seed`` is a pair
    made of (run seed, step) and the replica, so a resumed run draws exactly the labels
    the uninterrupted run drew, and replicas draw different ones, with no random state to
    synchronise across devices.
    """
    if not smooth:
        return tf.ones(shape), tf.zeros(shape)
    real = tf.random.stateless_uniform(shape, seed, minval=0.9, maxval=1.0)
    fake = tf.random.stateless_uniform(shape, seed + [0, 1], minval=0.0, maxval=0.1)
    return real, fake


def _build_optimizer(optimizer, variables):
    # Keras 3 optimisers must create their slots inside the strategy scope before the
    # first distributed step, or the tf.function tries to create them per replica.
    if not optimizer.built:
        optimizer.build(variables)


class SupervisedStep:
    """Supervised regression: minimise ``loss_fn`` (MSE for the FCN, sec. 2.2.3; L1/WL1 ...)."""

    def __init__(self, strategy, model, optimizer, loss_fn: LossFn, input_fn: InputFn = default_input,
                 jit_compile: bool = False):
        self.strategy, self.model, self.loss_fn, self.input_fn = strategy, model, loss_fn, input_fn
        self.models = {"model": model}
        self.optimizers = {"optimizer": optimizer}
        self.optimizer = optimizer
        with strategy.scope():
            _build_optimizer(optimizer, model.trainable_variables)
        self._replica = compiled_replica_fn(self._replica_train, jit_compile)
        self._train = tf.function(self._distributed_train)

    def predict(self, batch, training=False):
        return self.model(self.input_fn(batch, training=training), training=training)

    def _replica_train(self, batch, step):
        with tf.GradientTape() as tape:
            prediction = self.predict(batch, training=True)
            loss = global_average(self.loss_fn(batch, prediction), tf.shape(batch["target"])[0])
            scaled = self.optimizer.scale_loss(loss)  # float16: the LossScaleOptimizer's scale
        grads = tape.gradient(scaled, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return {"loss": loss}

    def _distributed_train(self, dist_batch, step):
        per_replica = self.strategy.run(self._replica, args=(dist_batch, step))
        return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in per_replica.items()}

    def train(self, dist_batch, step):
        return self._train(dist_batch, tf.convert_to_tensor(step, tf.int64))


class AdversarialStep:
    """Conditional GAN step: D updated ``d_steps`` times, then G on adversarial + lambda * recon.

    Eq. 3.6: G* = arg min_G max_D L(D, G) + lambda L_L1(G), with L_L1 the plain L1 (eq. 3.4),
    weighted L1 (eq. 3.5) or normalised weighted L1 (eq. 4.4) given as ``recon_loss_fn``.
    ``generator_input_fn`` builds G's input (the MRI, or for a Refiner the MRI stacked with
    the previous stage's output); D is always conditioned on the MRI (``batch["inputs"]``).
    The cross-entropies of eqs. 3.1-3.3 come from ``adversarial`` (``msgan.losses`` by
    default): ``patch_cross_entropy(probabilities, real_label)`` and
    ``generator_adversarial_loss(fake_probabilities)``, on D's per-patch probabilities
    ``(B, nD, nH, nW, 2)``.
    """

    def __init__(self, strategy, generator, discriminator, g_optimizer, d_optimizer,
                 recon_loss_fn: LossFn, lam: float = 100.0, d_steps: int = 1,
                 label_smoothing: bool = False, generator_input_fn: InputFn = default_input,
                 seed: int = 0, adversarial=None, jit_compile: bool = False):
        if adversarial is None:
            from msgan import losses as adversarial
        self.adversarial = adversarial
        self.strategy = strategy
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.recon_loss_fn, self.lam, self.d_steps = recon_loss_fn, float(lam), int(d_steps)
        self.label_smoothing, self.input_fn, self.seed = label_smoothing, generator_input_fn, int(seed)
        self.models = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {"g_optimizer": g_optimizer, "d_optimizer": d_optimizer}
        with strategy.scope():
            _build_optimizer(g_optimizer, generator.trainable_variables)
            _build_optimizer(d_optimizer, discriminator.trainable_variables)
        self._replica = compiled_replica_fn(self._replica_train, jit_compile)
        self._train = tf.function(self._distributed_train)

    @property
    def model(self):
        return self.generator

    def predict(self, batch, training=False):
        return self.generator(self.input_fn(batch, training=training), training=training)

    def _replica_train(self, batch, step):
        condition, target = batch["inputs"], batch["target"]
        local_batch = tf.shape(target)[0]
        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
        d_loss = tf.constant(0.0)
        for k in range(self.d_steps):  # unrolled: d_steps is a small Python int
            seed = tf.stack([tf.constant(self.seed, tf.int64) * 1000003 + step,
                             replica * 64 + 2 * k])
            fake = self.generator(self.input_fn(batch, training=True), training=True)
            with tf.GradientTape() as tape:
                real_prob = self.discriminator([condition, target], training=True)
                fake_prob = self.discriminator([condition, fake], training=True)
                real_label, fake_label = smoothed_labels(tf.shape(real_prob)[:-1], seed,
                                                         self.label_smoothing)
                d_loss = (self.adversarial.patch_cross_entropy(real_prob, real_label)
                          + self.adversarial.patch_cross_entropy(fake_prob, fake_label))
                d_loss = global_average(d_loss, local_batch)
                scaled = self.d_optimizer.scale_loss(d_loss)  # float16: the LossScaleOptimizer's scale
            grads = tape.gradient(scaled, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            fake = self.generator(self.input_fn(batch, training=True), training=True)
            fake_prob = self.discriminator([condition, fake], training=True)
            g_adv = global_average(self.adversarial.generator_adversarial_loss(fake_prob), local_batch)
            recon = global_average(self.recon_loss_fn(batch, fake), local_batch)
            g_loss = g_adv + self.lam * recon
            scaled = self.g_optimizer.scale_loss(g_loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"loss": g_loss, "g_adv": g_adv, "recon": recon, "d_loss": d_loss}

    def _distributed_train(self, dist_batch, step):
        per_replica = self.strategy.run(self._replica, args=(dist_batch, step))
        return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in per_replica.items()}

    def train(self, dist_batch, step):
        return self._train(dist_batch, tf.convert_to_tensor(step, tf.int64))


def make_evaluator(strategy, step_object):
    """A tf.function giving (sum of squared errors, voxel count) of one distributed batch."""

    def replica_eval(batch):
        error = step_object.predict(batch, training=False) - batch["target"]
        return tf.reduce_sum(tf.square(error)), tf.cast(tf.size(error), tf.float32)

    @tf.function
    def evaluate(dist_batch):
        sse, count = strategy.run(replica_eval, args=(dist_batch,))
        return strategy.reduce("SUM", sse, axis=None), strategy.reduce("SUM", count, axis=None)

    return evaluate


def step_evaluator(strategy, step_object):
    """:func:`make_evaluator` of ``step_object``, made once per step object: a step reused by
    the next fold of a cross-validation (:mod:`msgan.training.traced_folds`) keeps its trace."""
    evaluator = getattr(step_object, "_evaluator", None)
    if evaluator is None:
        evaluator = make_evaluator(strategy, step_object)
        step_object._evaluator = evaluator
    return evaluator
