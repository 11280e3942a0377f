"""Registration guards that need no real data: sampling floor, failure detection."""
import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from data_tools.preprocessing.itk_bridge import array_to_itk  # noqa: E402
from data_tools.preprocessing.registration import RegistrationError, RegistrationSettings, _check, _sampling, register  # noqa: E402


def test_sampling_fraction_is_raised_to_the_minimum_number_of_samples():
    settings = RegistrationSettings(shrink_factors=(4, 2, 1), sampling=(0.25, 0.1, 0.02), min_samples=20000)
    big = sitk.Image([100, 100, 100], sitk.sitkFloat32)  # 1e6 voxels
    # shrink 4: 20000*64/1e6 = 1.28 -> 1.0; shrink 2: 20000*8/1e6 = 0.16 > 0.1; shrink 1: 0.02 = 0.02
    np.testing.assert_allclose(_sampling(big, settings, 3), [1.0, 0.16, 0.02])
    np.testing.assert_allclose(_sampling(big, settings, 2), [0.16, 0.02])


def test_empty_image_is_a_registration_error():
    fixed = array_to_itk(np.random.default_rng(0).uniform(size=(16, 16, 16)).astype(np.float32), np.eye(4))
    empty = array_to_itk(np.zeros((16, 16, 16), np.float32), np.eye(4))
    with pytest.raises(RegistrationError, match="sub-x"):
        register(fixed, empty, label="sub-x/ses-t0 (T1 onto FLAIR)")


def test_poor_metric_and_degenerate_affine_are_refused():
    settings = RegistrationSettings(min_mutual_information=0.1, max_scale=1.5)
    identity = sitk.AffineTransform(3)
    _check(identity, -0.4, settings, "ok")  # good similarity, plausible matrix: accepted
    with pytest.raises(RegistrationError, match="did not converge"):
        _check(identity, -0.05, settings, "s")
    stretched = sitk.AffineTransform(3)
    stretched.SetMatrix((2.0, 0, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(RegistrationError, match="diverged"):
        _check(stretched, -0.4, settings, "s")
    mirrored = sitk.AffineTransform(3)
    mirrored.SetMatrix((-1.0, 0, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(RegistrationError, match="diverged"):
        _check(mirrored, -0.4, settings, "s")


def test_the_same_input_gives_the_same_transform_whatever_itks_thread_count():
    # Mattes MI's per-thread sums made affine parameters differ by ~1e-6 between runs on 2+ threads
    from scipy import ndimage

    rng = np.random.default_rng(0)
    blobs = ndimage.gaussian_filter(rng.random((64, 64, 64)).astype(np.float32), 3)
    volume = (blobs > blobs.mean()) * blobs * 100 + ndimage.gaussian_filter(rng.random((64, 64, 64)), 1) * 10
    fixed = array_to_itk(volume.astype(np.float32), np.eye(4))
    moving = array_to_itk(ndimage.shift(volume, (2.3, -1.1, 0.7)).astype(np.float32), np.eye(4))
    before = sitk.ProcessObject_GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject_SetGlobalDefaultNumberOfThreads(4)
    try:
        runs = [np.array(register(fixed, moving, model="affine")[0].GetParameters()) for _ in range(3)]
        assert sitk.ProcessObject_GetGlobalDefaultNumberOfThreads() == 4  # restored after each run
    finally:
        sitk.ProcessObject_SetGlobalDefaultNumberOfThreads(before)
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
