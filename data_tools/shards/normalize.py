"""Per-sequence z-score normalisation, stored as JSON beside the shards and in each run.

The thesis normalises "by x = (x - mean)/std, where mean and std are calculated over all
the voxels of all the images in each sequence" (sec. 2.2.3; likewise sec. 3.3.1, 4.3.1).
That is the default here: scope ``global``, region ``all``. Options (DESIGN.md, "Tensors"):

- region ``brain``: the global statistics count brain voxels only;
- scope ``subject``: every *input* image is standardised by its own brain statistics at
  apply time (for cohorts whose scanners or scalings differ). The target keeps global
  statistics whatever the scope: predictions must be de-normalised without the target
  image, and for PIB (a DVR, a physical ratio) per-subject scaling would erase the
  between-subject myelin differences the evaluation measures.
- scope ``subject-all`` (issue 19, FLAIR across scanners): inputs *and target* are
  standardised by their own image's brain statistics, for training and prediction. The
  stored target statistics (pooled over the training images' brains) serve only
  :meth:`Normalizer.invert`: a prediction comes out in the target's per-subject z-units and
  is written as ``z * SD + mean`` of the training target, a common reference scale. The
  absolute scale of an unseen scanner's FLAIR is not predictable from its other images;
  evaluate such predictions scale-free (``msgan evaluate``'s scale-free SSIM, r).

Rule used by :meth:`Normalizer.apply`: scope ``subject-all`` standardises every image
per image; otherwise a name with stored statistics is normalised with them and any other
name is standardised per image (scope ``subject`` only).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from data_tools.contracts import look_up_option
from data_tools.errors import ConfigError, ImageContentError, InputFileError
from data_tools.io.atomic import atomic_output_file

SCOPES = ("global", "subject", "subject-all")
#: scopes that standardise (some) images by their own brain statistics
PER_IMAGE_SCOPES = ("subject", "subject-all")
REGIONS = ("all", "brain")
#: ``--normalize`` choices -> (scope, region): the one mapping (shards, presets, CLI)
NORMALIZE_CHOICES = {"global": ("global", "all"), "global-brain": ("global", "brain"),
                     "subject": ("subject", "brain"), "subject-all": ("subject-all", "brain")}


@dataclass
class RunningMoments:
    """Count, mean and sum of squared deviations, merged image by image in float64.

    Merging per-image moments (Chan et al.'s parallel formula) instead of summing x and x^2
    keeps the variance exact for large voxel counts with a non-zero mean.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, np.float64).ravel()
        n = values.size
        if n == 0:
            return
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.count)) if self.count else 0.0


def _ops():
    import keras  # lazily: importing keras imports TensorFlow (seconds)

    return keras.ops


def brain_moments(array, brain=None):
    """Mean and population SD of ``array`` inside ``brain`` (> 0.5; all voxels if None), float64.

    Written with ``keras.ops``: the same code runs on numpy arrays and on tensors inside the
    prediction graph (:meth:`msgan.inference.pipeline.VolumePredictor.graph`), two-pass
    (mean, then squared deviations) for exactness.
    """
    ops = _ops()
    x = ops.cast(array, "float64")
    if brain is None:
        inside = ops.ones_like(x)
    else:
        inside = ops.cast(ops.greater(ops.cast(brain, "float64"), 0.5), "float64")
    count = ops.sum(inside)
    mean = ops.sum(x * inside) / count
    return mean, ops.sqrt(ops.sum(ops.square(x - mean) * inside) / count)


def zscore(array, mean, std):
    """The z-score of sec. 2.2.3, ``x = (x - mean) / std``, in float64, returned float32.

    ``keras.ops``: the one implementation for numpy arrays (:meth:`Normalizer.apply`) and
    for the SavedModel graph.
    """
    ops = _ops()
    return ops.cast((ops.cast(array, "float64") - mean) / std, "float32")


def unzscore(array, mean, std):
    """Back to original units, ``x * std + mean`` (the inverse of :func:`zscore`), float32."""
    ops = _ops()
    return ops.cast(ops.cast(array, "float64") * std + mean, "float32")


def image_stats(array: np.ndarray, brain: np.ndarray | None) -> tuple[float, float]:
    """Mean and (population) SD of ``array`` inside ``brain`` (all voxels if None)."""
    mean, std = brain_moments(array, brain)
    return float(mean), float(std)


@dataclass
class Normalizer:
    """z-score statistics per sequence name, with the scope and region they were fitted in."""

    scope: str = "global"
    region: str = "all"
    stats: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self):
        look_up_option(self.scope, SCOPES, "normalisation scope")
        look_up_option(self.region, REGIONS, "normalisation region")

    @classmethod
    def fit(cls, images: Iterable[tuple[str, np.ndarray, np.ndarray | None]], *, target: str,
            scope: str = "global", region: str = "all") -> "Normalizer":
        """Fit from ``(name, array, brain)`` triples, one per image of the training set.

        Scope ``global`` keeps statistics for every name; scope ``subject`` only for
        ``target`` (inputs are then standardised per image at apply time); scope
        ``subject-all`` stores the target's for :meth:`invert` only. ``brain`` is required
        when region is ``brain``.
        """
        norm = cls(scope, region)
        moments: dict[str, RunningMoments] = {}
        for name, array, brain in images:
            if scope in PER_IMAGE_SCOPES and name != target:
                continue
            if region == "brain" and brain is None:
                raise ConfigError(f"region 'brain' needs a brain mask for {name}")
            moments.setdefault(name, RunningMoments()).add(array[brain] if region == "brain" else array)
        if target not in moments:
            raise ConfigError(f"no {target} image to fit the target's normalisation on")
        for name, m in moments.items():
            if not m.std > 0:
                raise ImageContentError(f"{name} is constant over the training images (SD 0); "
                                        "cannot normalise it")
            norm.stats[name] = {"mean": m.mean, "std": m.std}
        return norm

    def _mean_std(self, name: str, array: np.ndarray, brain: np.ndarray | None) -> tuple[float, float]:
        if not self.is_per_image(name):
            if name not in self.stats:
                raise ConfigError(f"no normalisation statistics for {name} (have {', '.join(self.stats)})")
            return self.stats[name]["mean"], self.stats[name]["std"]
        if brain is None:
            raise ConfigError(f"per-subject normalisation of {name} needs the brain mask")
        mean, std = image_stats(array, brain)
        if not std > 0:
            raise ImageContentError(f"{name} is constant inside the brain (SD 0); cannot normalise it")
        return mean, std

    @classmethod
    def per_image(cls) -> "Normalizer":
        """Every image standardised by its own brain statistics, none stored (scope
        ``subject-all`` with nothing to invert): the classic baselines' scanner-free inputs."""
        return cls("subject-all", "brain")

    def is_per_image(self, name: str) -> bool:
        """True when ``name`` is standardised by its own image's statistics: the one rule,
        asked by training, the prediction graph, the fingerprint and the baselines."""
        if self.scope == "subject-all":
            return True
        return self.scope == "subject" and name not in self.stats

    def scale_free(self, names: Iterable[str]) -> list[str]:
        """The ``names`` standardised per image: any intensity scale (x a, + b) of such an
        input gives the same normalised input, so its raw intensities need not match."""
        return [name for name in names if self.is_per_image(name)]

    def channel_statistics(self, names: Iterable[str]) -> list[tuple[float, float] | None]:
        """Per name, the stored ``(mean, std)`` it is z-scored with, or None when it is
        standardised by its own image's brain statistics (computed at apply time)."""
        out = []
        for name in names:
            if self.is_per_image(name):
                out.append(None)
            elif name not in self.stats:
                raise ConfigError(f"the normalisation has no statistics for {name} (have {', '.join(self.stats)})")
            else:
                out.append((float(self.stats[name]["mean"]), float(self.stats[name]["std"])))
        return out

    def apply_channels(self, names: Iterable[str], volumes: np.ndarray, brain: np.ndarray | None = None) -> np.ndarray:
        """``(D, H, W, C)`` raw channels named ``names`` -> their normalised stack (float32)."""
        return np.stack([self.apply(name, volumes[..., c], brain) for c, name in enumerate(names)], -1)

    def apply(self, name: str, array: np.ndarray, brain: np.ndarray | None = None) -> np.ndarray:
        """``(array - mean) / std`` as float32 (:func:`zscore`, computed in float64)."""
        mean, std = self._mean_std(name, array, brain)
        return np.asarray(zscore(array, mean, std))

    def invert(self, name: str, array: np.ndarray, brain: np.ndarray | None = None) -> np.ndarray:
        """Back to the original units: ``array * std + mean`` (stored statistics only)."""
        if name not in self.stats:
            raise ConfigError(f"{name} was normalised per image; its original scale is not stored")
        mean, std = self.stats[name]["mean"], self.stats[name]["std"]
        return np.asarray(unzscore(array, mean, std))

    def background(self, name: str, array: np.ndarray | None = None,
                   brain: np.ndarray | None = None) -> float:
        """The normalised value of a raw 0 (background of brain-extracted images; padding)."""
        mean, std = self._mean_std(name, array, brain)
        return float(zscore(0.0, mean, std))

    def to_dict(self) -> dict:
        return {"scope": self.scope, "region": self.region,
                "stats": {k: {"mean": float(v["mean"]), "std": float(v["std"])} for k, v in self.stats.items()}}

    @classmethod
    def from_dict(cls, data: dict, where: str | Path | None = None) -> "Normalizer":
        try:
            stats = {str(k): {"mean": float(v["mean"]), "std": float(v["std"])}
                     for k, v in data["stats"].items()}
            scope, region = data["scope"], data["region"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputFileError(f"not a normalisation description ({exc!r})", where) from None
        # checked here too, so that a bad file's error names it
        look_up_option(scope, SCOPES, "normalisation scope", InputFileError, where)
        look_up_option(region, REGIONS, "normalisation region", InputFileError, where)
        return cls(scope, region, stats)

    def to_json(self, path: str | Path, overwrite: bool = False) -> Path:
        with atomic_output_file(path, overwrite=overwrite) as tmp:
            # repr-exact floats: json writes the shortest string that reads back identical
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    @classmethod
    def from_json(cls, path: str | Path) -> "Normalizer":
        path = Path(path)
        if not path.is_file():
            raise InputFileError("normalisation file not found", path)
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputFileError(f"not valid JSON ({exc})", path) from None
        return cls.from_dict(data, path)
