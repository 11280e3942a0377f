"""Re-export a shipped SavedModel from its own weights, without retraining (docs/models.md).

    python scripts/reexport_shipped_model.py MODEL_FOLDER MODEL_KWARGS_JSON [--out DIR]

The variables of an ``msgan export`` made before the generator-only export are read from
the SavedModel's checkpoint (``variables/N`` are the whole model's variables in
``model.variables`` order), loaded into ``msgan.models.build(card.model, n_inputs,
**MODEL_KWARGS)`` and exported again with the same model card. Prints the folder sizes
before and after and the largest difference between the two ``predict_volume`` outputs on
a test volume (0 when the prediction is unchanged); replaces MODEL_FOLDER unless --out.

The shipped PIB model (scripts/train_shipped_models.sh's kwargs):

    python scripts/reexport_shipped_model.py msgan/saved_models/pib-mtr-fa-rd-ad/1 \
      '{"generator_kwargs": {"base_filters": 4}, "discriminator_kwargs": {"base_filters": 4, "patch_size": 16}}'
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def model_from_saved_weights(folder: Path, card, kwargs: dict):
    """The card's model built with ``kwargs`` and given the SavedModel's ``variables/N``."""
    import tensorflow as tf

    from msgan.models import build

    model = build(card.model, len(card.inputs), **kwargs)
    reader = tf.train.load_checkpoint(str(folder / "variables" / "variables"))
    keys = {k for k in reader.get_variable_to_shape_map() if k.startswith("variables/")}
    if len(keys) != len(model.variables):
        raise SystemExit(f"{folder}: {len(keys)} saved variables, the model has {len(model.variables)}")
    for n, variable in enumerate(model.variables):
        value = reader.get_tensor(f"variables/{n}/.ATTRIBUTES/VARIABLE_VALUE")
        if tuple(value.shape) != tuple(variable.shape):
            raise SystemExit(f"variable {n} ({variable.path}): saved {value.shape}, model {variable.shape}")
        variable.assign(value)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("model_kwargs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from msgan.inference.export import export_predictor
    from msgan.inference.pipeline import VolumePredictor
    from msgan.inference.predict import load_saved_model
    from msgan.inference.sliding_window import WindowPlan

    old = load_saved_model(args.folder)
    card = old.card
    model = model_from_saved_weights(args.folder, card, json.loads(args.model_kwargs))
    noise = (card.noise or {}).get("noise_samples", 0)
    predictor = VolumePredictor(model, card.inputs, card.target, dict(card.normalization),
                                WindowPlan.from_dict(card.window), noise_samples=noise)
    work = Path(tempfile.mkdtemp(prefix="msgan-reexport-"))
    new_folder = export_predictor(predictor, work / "1", card.to_dict())
    new = load_saved_model(new_folder)

    rng = np.random.default_rng(0)
    stats = card.normalization["stats"]  # inputs z-scored per image have none: any scale
    volumes = np.stack([rng.normal(stats.get(n, {}).get("mean", 100.0), stats.get(n, {}).get("std", 30.0),
                                   (48, 56, 40)) for n in card.inputs], -1).astype(np.float32)
    brain = np.ones(volumes.shape[:3], np.float32)
    before, after = old.predict(volumes, brain), new.predict(volumes, brain)
    print(f"size before: {folder_bytes(args.folder) / 1e6:.2f} MB, after: {folder_bytes(new_folder) / 1e6:.2f} MB")
    from msgan.models.geometry import prediction_chain

    used = {id(v): v for net in prediction_chain(model) for v in net.variables}
    print(f"parameters: {sum(int(np.prod(v.shape)) for v in model.variables):,} in the model, "
          f"{sum(int(np.prod(v.shape)) for v in used.values()):,} in its prediction chain; "
          f"largest |before - after| of predict_volume: {float(np.abs(before - after).max()):.3g}")
    target = args.out or args.folder
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(new_folder, target)
    shutil.rmtree(work)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
