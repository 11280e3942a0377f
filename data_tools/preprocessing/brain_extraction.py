"""Brain extraction of raw (not skull-stripped) heads, offline on a CPU.

The thesis extracted the brain with FSL BET (sec. 3.3.1, [Smith 2002]). msgan may not
download weights at run time, so it uses the one network we found whose weights ship
inside its wheel: ``deepbrain`` (Itzcovich 2018, MIT licence), a 3D convolutional network
trained on T1-weighted heads. Its TensorFlow-1 graph is read here with ``tf.compat.v1`` (the package's own loader
calls ``tf.Session``, gone from TensorFlow 2). The head is resampled onto an isotropic
128^3 grid (:func:`network_grid`), and the brain probability resampled back and
thresholded at 0.5 (the network's own decision boundary); the largest connected
component, holes filled, is the brain. ``scripts/bench_brain_extraction.py``
measured it against the dataset authors' masks of raw MS scans beside a Python BET, the
MNI152 template and deepbrain on FLAIR (README, ``msgan preprocess``).

HD-BET (:mod:`data_tools.preprocessing.hdbet`, extra ``[hdbet]``) follows the brain on raw
heads of any weighting more closely (docs/synthesize.md); ``method="auto"`` takes it when
installed, else deepbrain.

:func:`data_tools.io.fingerprint.looks_skull_stripped` decides whether a scan needs this at all.
"""
from __future__ import annotations

import functools
import logging

import numpy as np

from data_tools.errors import ConfigError, ImageContentError
from data_tools.preprocessing.grids import make_grid
from data_tools.preprocessing.itk_bridge import array_to_itk, itk_to_affine, itk_to_array, sitk

log = logging.getLogger(__name__)

NETWORK_SIZE = 128
@functools.lru_cache(maxsize=1)
def _network():
    """``(session, input, training flag, probability)`` of deepbrain's bundled graph, loaded once."""
    try:
        from importlib.resources import files

        graph_file = files("deepbrain") / "models" / "graph.pb"
    except ImportError:
        raise ConfigError("brain extraction needs deepbrain: pip install 'msgan[preprocess]'") from None
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        graph_def = v1.GraphDef()
        graph_def.ParseFromString(graph_file.read_bytes())
        v1.import_graph_def(graph_def)
    get = graph.get_tensor_by_name
    return v1.Session(graph=graph), get("import/img:0"), get("import/training:0"), get("import/prob:0")


def network_grid(image):
    """The network's 128^3 input grid: isotropic, centred on ``image``, spanning its longest side.

    Resizing a 0.9 x 0.9 x 3 mm scan's array straight to a cube (the package's own way)
    stretches the head 1.6-fold along the slices; keeping millimetres isotropic shows the
    network a head shaped like its training heads (README: Dice 0.934 -> 0.952 on patient04).
    """
    size = np.asarray(image.GetSize())
    extent = float((size * np.asarray(image.GetSpacing())).max())
    voxel = extent / NETWORK_SIZE
    centre = np.asarray(image.TransformContinuousIndexToPhysicalPoint([(s - 1) / 2 for s in size.tolist()]))
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    origin = centre - direction @ np.full(3, voxel * (NETWORK_SIZE - 1) / 2)
    return make_grid([NETWORK_SIZE] * 3, [voxel] * 3, origin, image.GetDirection())


def brain_probability(image):
    """deepbrain's brain probability for a T1-weighted SimpleITK image, on :func:`network_grid`."""
    from data_tools.preprocessing.registration import resample

    grid = network_grid(image)
    array = itk_to_array(resample(image, grid))
    array = array / max(float(array.max()), 1e-6)  # the scaling deepbrain was trained with
    session, img, training, prob = _network()
    out = session.run(prob, {training: False, img: array[None, ..., None]}).squeeze()
    return array_to_itk(out.astype(np.float32), itk_to_affine(grid))


def largest_component_filled(mask):
    """The largest 26-connected component of a 0/1 SimpleITK mask, its holes filled."""
    tx = sitk()
    labels = tx.RelabelComponent(tx.ConnectedComponent(mask, True), sortByObjectSize=True)
    return tx.BinaryFillhole(tx.Cast(labels == 1, tx.sitkUInt8), fullyConnected=False, foregroundValue=1)


def choose_extractor(method: str = "auto") -> str:
    """``hdbet`` or ``deepbrain`` for ``method`` (``auto``: HD-BET if installed)."""
    from data_tools.contracts import BRAIN_EXTRACTORS, look_up_option
    from data_tools.preprocessing import hdbet

    look_up_option(method, BRAIN_EXTRACTORS, "brain extractor")
    if method == "auto":
        method = "hdbet" if hdbet.available() else "deepbrain"
    return method


def extract_brain(reference, t1=None, t1_to_reference=None, label=None, method: str = "deepbrain"):
    """The brain mask (uint8 0/1) on ``reference``'s grid.

    ``method``: ``hdbet`` (HD-BET, trained on T1, T2 and FLAIR: runs on ``reference``
    itself), ``deepbrain`` (trained on T1-weighted heads: give the session's T1 and its
    transform onto the reference, ITK convention, when there is one; without, the network
    runs on the reference itself, less accurately on FLAIR, see README; the default) or
    ``auto`` (HD-BET if its extra is installed, else deepbrain; logged). An empty result is an
    :class:`ImageContentError` naming ``label``.
    """
    from data_tools.preprocessing.registration import resample

    method = choose_extractor(method)
    log.info("%s: brain extraction by %s", label or "image", method)
    if method == "hdbet":
        from data_tools.preprocessing.hdbet import brain_probability as hdbet_probability

        probability = resample(hdbet_probability(reference), reference)
    else:
        probability = brain_probability(t1 if t1 is not None else reference)
        # The network's grid lies in the T1's (or the reference's) physical space.
        probability = resample(probability, reference, t1_to_reference if t1 is not None else None)
    mask = largest_component_filled(sitk().Cast(probability > 0.5, sitk().sitkUInt8))
    if not sitk().GetArrayViewFromImage(mask).any():
        raise ImageContentError("brain extraction found no brain (is this a head MR image?)", label)
    return mask
