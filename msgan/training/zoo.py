"""The thin glue between the engine and the other parts: model zoo, losses, shard reader.

Everything here follows docs/ARCHITECTURE.md and imports its part lazily, so the engine
itself (steps, loop, checkpoints) depends on none of them.
"""
from __future__ import annotations

from pathlib import Path

from data_tools.contracts import ShardIndex, look_up_option
from msgan.errors import ConfigError


def reconstruction_loss(name: str):
    """A loss of :data:`msgan.losses.LOSS_NAMES` as ``loss_fn(batch, prediction)`` of shard batches."""
    from msgan import losses

    loss = losses.get(name)
    return lambda batch, prediction: loss(batch["target"], prediction, batch.get("roi"))


def model_kind(name: str) -> str:
    from msgan import models

    look_up_option(name, models.MODEL_NAMES, "model")
    return models.model_kind(name)


def build_model(name: str, n_inputs: int, model_kwargs: dict, precision: str = "float32"):
    """The zoo's model, computing in ``precision`` (:mod:`msgan.models.precision`)."""
    from msgan import models
    from msgan.models.precision import set_precision

    model = models.build(name, n_inputs, **model_kwargs)
    return model if precision == "float32" else set_precision(model, precision)


def check_batch_norm_extent(model, name: str, example_shape, batch: int) -> None:
    """Refuse a patch size and batch that leave the deepest batch norm one value per channel.

    At 16^3 patches the CF-SAGAN's 4-level encoder reaches a single voxel; with batch 1, batch
    normalisation there maps every input to its offset in training, while inference uses the
    running statistics: the losses look fine and every prediction is wrong (validation MSE
    of 10^4 on normalised PIB in our runs). Only generators are checked: they make the images.
    """
    import keras

    from msgan.models.geometry import prediction_chain

    if not example_shape:
        return
    for network in prediction_chain(model):
        stride = getattr(network, "min_size", None)
        has_norm = any(isinstance(layer, keras.layers.BatchNormalization)
                       for layer in network._flatten_layers(include_self=False, recursive=True))
        if not isinstance(stride, int) or not has_norm:
            continue
        deepest = [max(1, int(size) // stride) for size in example_shape[:3]]
        if batch * deepest[0] * deepest[1] * deepest[2] < 2:
            raise ConfigError(
                f"{name}: examples of {'x'.join(str(int(s)) for s in example_shape[:3])} voxels and "
                f"batch {batch} leave its deepest batch normalisation one value per channel "
                f"(the encoder divides each side by {stride}); training would look fine and "
                f"predict nonsense. Use examples of at least {2 * stride} voxels a side "
                f"(make-tfrecords --patch) or a batch of 2 or more")


def read_shard_index(folder: str | Path, verify: bool = True) -> ShardIndex:
    from data_tools.shards import tfrecords

    if verify:
        tfrecords.verify_shards(folder)
    return tfrecords.read_index(folder)


def index_subjects(index: ShardIndex) -> dict[str, str | None]:
    """Subject id -> group ("MS", "HC" or None) from a shard index (:meth:`ShardIndex.subject_groups`)."""
    return index.subject_groups()


def shard_datasets(folder, train_ids, val_ids, batch: int, seed: int, repeat: bool,
                   contrast_augment: float = 0.0):
    """``(train_data(epoch), val_data(epoch) | None)`` over the shards, as the loop wants them.

    The training order of epoch e is seeded by ``seed + e`` (deterministic), so a resumed
    run can skip to the exact batch it stopped at; so are the draws of the training-time
    contrast augmentation (:mod:`msgan.training.augment`, strength ``contrast_augment``;
    validation batches are never augmented). The shards' checksums are verified once by
    :func:`read_shard_index`, not at every epoch.
    """
    from data_tools.shards.tfrecords import make_dataset
    from msgan.training.augment import with_random_contrast

    def train_data(epoch):
        ordered = make_dataset(folder, subjects=list(train_ids), batch_size=batch, shuffle=True,
                               deterministic=True, repeat=repeat, seed=seed + epoch, verify=False)
        return with_random_contrast(ordered, contrast_augment, seed + epoch)

    def val_data(epoch):
        return make_dataset(folder, subjects=list(val_ids), batch_size=batch, shuffle=False,
                            deterministic=True, repeat=False, seed=seed, verify=False)

    return train_data, (val_data if val_ids else None)


def read_groups(participants: str | Path) -> dict[str, str]:
    """``participants.tsv`` (participant_id, group) -> {subject id without "sub-": group}."""
    import csv

    path = Path(participants)
    if not path.is_file():
        from msgan.errors import InputFileError
        raise InputFileError("participants table not found", path)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t" if path.suffix != ".csv" else ","))
    if not rows or "participant_id" not in rows[0] or "group" not in rows[0]:
        raise ConfigError("participants table needs participant_id and group columns", path)
    return {r["participant_id"].strip().removeprefix("sub-"): r["group"].strip() for r in rows}
