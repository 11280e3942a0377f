"""Options that are a choice among names are checked in one place (``look_up_option``):
an unknown name is one ``ConfigError`` listing every valid name, and each CLI
``click.Choice`` offers exactly the library's names."""
from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from data_tools import contracts
from data_tools.contracts import (ABLATION_LAYOUTS, BLEND_NAMES, BRAIN_EXTRACTORS, COMPRESSIONS, LOSS_NAMES,
                                  OUTPUT_SPACES, PRECISIONS, SINGLE_SESSION_TASK_NAMES, SPACE_NAMES, TASK_NAMES,
                                  THRESHOLD_SOURCES, THRESHOLD_SPACES, ShardSpec)
from data_tools.errors import ConfigError, InputFileError
from data_tools.io.cohort import open_cohort
from data_tools.preprocessing.brain_extraction import choose_extractor
from data_tools.preprocessing.preprocess import PreprocessOptions
from data_tools.preprocessing.registration import REGISTRATION_MODELS
from data_tools.shards import patches
from data_tools.shards.dataset import NORMALIZE_CHOICES, build_shards
from data_tools.shards.normalize import REGIONS, SCOPES, Normalizer
from msgan import losses
from msgan.cli import COMMANDS
from msgan.evaluation.demyelination import check_threshold_options
from msgan.experiments.reproduce import CHAPTERS
from msgan.models import build
from msgan.models.precision import set_precision
from msgan.inference import spaces
from msgan.inference.synthesize import synthesize
from msgan.training import presets, zoo
from msgan.training.precision import check_precision
from msgan.training.presets import OPTIMIZER_NAMES, RECIPES

UNKNOWN = "no-such-name"


def _cube():
    return {"image": np.zeros((4, 4, 4, 1), np.float32)}


#: option -> (call with a name, the valid names); each call's first check is the option's
LIBRARY_CHECKS = {
    "augmentation": (lambda name: patches.augment(_cube(), name, {}), patches.AUGMENTATIONS),
    "layout": (lambda name: patches.layout_origins(name, np.ones((4, 4, 4), bool)), patches.LAYOUTS),
    "normalisation scope": (lambda name: Normalizer(scope=name), SCOPES),
    "normalisation region": (lambda name: Normalizer(region=name), REGIONS),
    "threshold source": (lambda name: check_threshold_options(name, "native"), tuple(THRESHOLD_SOURCES)),
    "threshold space": (lambda name: check_threshold_options("same", name), tuple(THRESHOLD_SPACES)),
    "task": (contracts.get_task, TASK_NAMES),
    "loss": (losses.get, LOSS_NAMES),
    "preset": (presets.recipe_settings, tuple(RECIPES)),
    "model (presets)": (presets.default_val_per_fold, tuple(presets.PRESETS)),
    "model (zoo)": (zoo.model_kind, None),  # None: msgan.models.MODEL_NAMES, read in the test
    "registration model": (lambda name: PreprocessOptions(model=name).validate(), REGISTRATION_MODELS),
    "precision": (lambda name: check_precision(name, jit_compile=True), PRECISIONS),
    "precision (a built model)": (lambda name: set_precision(build("fcn", 1, filters=1, n_layers=1), name), PRECISIONS),
    "brain extractor": (choose_extractor, BRAIN_EXTRACTORS),
    "model space": (spaces.space_grid, SPACE_NAMES),
    "output space": (lambda name: synthesize(None, {}, "unused.nii.gz", space=name), OUTPUT_SPACES),
}


def test_the_spaces_with_a_grid_are_the_names_the_cli_lists():
    assert tuple(spaces.SPACES) == SPACE_NAMES


@pytest.mark.parametrize("option", sorted(LIBRARY_CHECKS))
def test_an_unknown_name_is_one_config_error_listing_the_valid_names(option):
    call, valid = LIBRARY_CHECKS[option]
    if valid is None:
        from msgan.models import MODEL_NAMES
        valid = MODEL_NAMES
    with pytest.raises(ConfigError) as caught:
        call(UNKNOWN)
    message = caught.value.message
    assert "\n" not in message and UNKNOWN in message
    assert all(name in message for name in valid), (valid, message)
    # and every valid name passes the check (the call may fail later for other reasons)
    for name in valid:
        try:
            call(name)
        except ConfigError as exc:
            assert f"{UNKNOWN}" not in exc.message and "choose one of" not in exc.message, (name, exc.message)
        except Exception:  # noqa: BLE001  (past the option check: e.g. a square-patch rotation)
            pass


def test_a_bad_name_in_normalization_json_names_the_file(tmp_path):
    path = tmp_path / "normalization.json"
    for key, valid in (("scope", SCOPES), ("region", REGIONS)):
        data = {"scope": "global", "region": "all", "stats": {"PIB": {"mean": 1.0, "std": 0.5}}, key: UNKNOWN}
        path.write_text(json.dumps(data))
        with pytest.raises(InputFileError) as caught:
            Normalizer.from_json(path)
        assert caught.value.path == str(path) and all(name in caught.value.message for name in valid)


def test_the_window_options_are_checked_once(tmp_path):
    from msgan.inference.geometry import plan_for_model
    from msgan.inference.sliding_window import BLEND_MODES, WindowPlan
    from msgan.models import build

    model = build("mlp", 1)
    with pytest.raises(ConfigError) as caught:
        plan_for_model(model, blend=UNKNOWN)  # halo tiling would not use it: still refused
    assert all(name in caught.value.message for name in BLEND_NAMES)
    with pytest.raises(ConfigError) as caught:
        WindowPlan(mode=UNKNOWN, window=(8, 8, 8))
    assert set(BLEND_NAMES) < set(BLEND_MODES)
    assert all(name in caught.value.message for name in BLEND_MODES)
    assert plan_for_model(model, blend="constant").mode == "halo"


def test_shard_options_are_checked_before_any_work(tiny_cohort, tmp_path):
    from data_tools.shards.tfrecords import ShardWriter

    cohort = open_cohort(cohort=tiny_cohort)
    with pytest.raises(ConfigError) as caught:
        build_shards(cohort, ShardSpec("flair", normalize=UNKNOWN), tmp_path / "shards", progress=False)
    assert all(name in caught.value.message for name in NORMALIZE_CHOICES)
    with pytest.raises(ConfigError) as caught:
        ShardWriter(tmp_path / "writer", compression=UNKNOWN)
    assert all(name in caught.value.message for name in COMPRESSIONS if name)
    assert not (tmp_path / "shards").exists()


def test_ablation_refuses_tasks_and_layouts_it_cannot_score(tiny_cohort, tmp_path):
    from msgan.experiments.ablation import ablate

    cohort = open_cohort(cohort=tiny_cohort)
    common = dict(inputs=["T1", "T2"], target="FLAIR", out=tmp_path / "ablation", test_subjects=["p1"])
    with pytest.raises(ConfigError) as caught:
        ablate(cohort, "myelin-longitudinal", **common)
    assert all(name in caught.value.message for name in SINGLE_SESSION_TASK_NAMES)
    with pytest.raises(ConfigError) as caught:
        ablate(cohort, "flair", layout="crop", **common)
    assert all(name in caught.value.message for name in ABLATION_LAYOUTS)
    assert not (tmp_path / "ablation").exists()


#: (command, option) -> the library's names its click.Choice must list, in order
CLI_CHOICES = {
    ("make-tfrecords", "--task"): TASK_NAMES,
    ("make-tfrecords", "--preset"): tuple(RECIPES),
    ("make-tfrecords", "--layout"): patches.LAYOUTS,
    ("make-tfrecords", "--normalize"): tuple(NORMALIZE_CHOICES),
    **{(command, option): names for command in ("train", "cv", "tune")
       for option, names in (("--preset", tuple(RECIPES)), ("--loss", LOSS_NAMES),
                             ("--refiner-loss", LOSS_NAMES), ("--optimizer", OPTIMIZER_NAMES),
                             ("--precision", PRECISIONS))},
    ("predict", "--precision"): PRECISIONS,
    ("reproduce", "--precision"): PRECISIONS,
    ("predict", "--blend"): BLEND_NAMES,
    ("predict", "--task"): TASK_NAMES,
    ("export", "--blend"): BLEND_NAMES,
    ("export", "--space"): SPACE_NAMES,
    ("synthesize", "--space"): OUTPUT_SPACES,
    ("synthesize", "--brain-extractor"): BRAIN_EXTRACTORS,
    ("synthesize", "--registration"): REGISTRATION_MODELS,
    ("evaluate", "--task"): TASK_NAMES,
    ("evaluate", "--threshold-source"): tuple(THRESHOLD_SOURCES),
    ("evaluate", "--threshold-space"): tuple(THRESHOLD_SPACES),
    ("reproduce", "--threshold-space"): tuple(THRESHOLD_SPACES),
    ("ablate", "--task"): SINGLE_SESSION_TASK_NAMES,
    ("ablate", "--layout"): ABLATION_LAYOUTS,
    ("ablate", "--optimizer"): OPTIMIZER_NAMES,
    ("preprocess", "--model"): REGISTRATION_MODELS,
    ("reproduce", "chapter"): tuple(CHAPTERS),
}


def _command(name):
    module, attribute = COMMANDS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("command, option", sorted(CLI_CHOICES))
def test_cli_choices_are_the_library_names(command, option):
    param = next(p for p in _command(command).params if option in p.opts)
    assert tuple(param.type.choices) == tuple(CLI_CHOICES[(command, option)])


def test_every_cli_choice_is_checked_here():
    """A new click.Choice is added to CLI_CHOICES (with the library constant it lists)."""
    found = {(name, next((o for o in p.opts if o.startswith("--")), p.name))
             for name in COMMANDS for p in _command(name).params
             if type(p.type).__name__ == "Choice"}
    assert found == set(CLI_CHOICES)
