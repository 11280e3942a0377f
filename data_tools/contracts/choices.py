"""Options that are a choice among names: the one check (as MONAI's ``look_up_option``)
and the name sets shared by several stages."""
from __future__ import annotations

from typing import Mapping

from data_tools.errors import ConfigError

#: the reconstruction losses by the names ``--loss`` and a run's ``config.json`` use:
#: MSE (eq. 2.1), L1 (eq. 3.4), weighted L1 (eq. 3.5), normalised weighted L1 (eq. 4.4),
#: and MSE or L1 plus a 3-D gradient difference term (not the thesis's: sharper images);
#: the functions are ``msgan.losses.get(name)``
LOSS_NAMES = ("mse", "l1", "wl1", "nwl1", "mse+grad", "l1+grad")

#: how overlapping prediction windows are blended (``--blend`` of predict and export):
#: MONAI's Gaussian importance map or equal weights; stride-1 local networks ignore it
#: (halo tiles, ``msgan.inference.sliding_window.BLEND_MODES``)
BLEND_NAMES = ("gaussian", "constant")

#: demyelination thresholds (``evaluate --threshold-source/--threshold-space``, sec. 4.2.5),
#: name -> what the report says of it; checked by ``msgan.evaluation.demyelination``
THRESHOLD_SOURCES = {"same": "each map with the controls' maps of the same source",
                     "truth": "every map with the controls' true maps"}
THRESHOLD_SPACES = {"native": "distance to CSF in each subject's own space",
                    "mni": "distance to CSF in MNI space (non-linear registration to nilearn's MNI152)"}

#: the compute precisions of training and prediction (``--precision``; Keras dtype policies:
#: variables float32 always, layers computing in bfloat16/float16 except the output heads,
#: ``msgan.models.precision``); float16 training scales its losses (LossScaleOptimizer)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
#: spaces a model can be trained in (a model card's ``space``; ``export --space``); their
#: templates and grids are ``msgan.inference.spaces.SPACES``
SPACE_NAMES = ("mni152",)
#: where ``msgan synthesize --space`` writes: the reference input's own grid or the model's
OUTPUT_SPACES = ("native", "model")
#: brain extraction of raw heads (``synthesize --brain-extractor``): ``auto`` is HD-BET when
#: its extra is installed, else deepbrain (``data_tools.preprocessing.brain_extraction``)
BRAIN_EXTRACTORS = ("auto", "hdbet", "deepbrain")

#: example layouts ``msgan ablate`` trains on (it predicts whole volumes; checked by ``ablate``)
ABLATION_LAYOUTS = ("whole", "patches")


def look_up_option(value, supported, what: str = "option", error: type = ConfigError, where=None):
    """``value`` if it is one of ``supported`` (a mapping: the value it maps to).

    Anything else raises ``error`` (a :class:`~data_tools.errors.MsganError`) in one line
    naming ``what`` and listing the valid names, e.g. ``unknown loss 'l3'; choose one of
    mse, l1, wl1, nwl1``; ``where`` (a file) goes first in the message.
    """
    names = list(supported)
    if value not in names:
        shown = repr(value) if isinstance(value, str) else repr(str(value))
        listed = ", ".join(str(name) or repr(name) for name in names)  # an empty name shows as ''
        raise error(f"unknown {what} {shown}; choose one of {listed}", where)
    return supported[value] if isinstance(supported, Mapping) else value
