"""nibabel <-> SimpleITK geometry, transform algebra and output grids (tiny, no real data)."""
import nibabel as nib
import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from data_tools.preprocessing import itk_bridge  # noqa: E402
from data_tools.errors import ConfigError, GeometryError  # noqa: E402
from data_tools.preprocessing.grids import crop_grid, make_grid, resampled_grid  # noqa: E402
from data_tools.preprocessing.itk_bridge import (RAS_TO_LPS, array_to_itk, compose, itk_to_affine, itk_to_array,  # noqa: E402
                                   matrix_to_transform, save_itk_as_nifti, transform_to_matrix)


def oblique_affine():
    """LAS-like axes (x flipped, as in the real data), rotated 10 deg about z, anisotropic voxels."""
    angle = np.deg2rad(10)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-1.0, 1.2, 3.0])
    affine[:3, 3] = [90.0, -126.0, -72.0]
    return affine


def test_voxel_positions_agree_between_nibabel_and_simpleitk():
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    affine = oblique_affine()
    image = array_to_itk(data, affine)
    assert image.GetSize() == (4, 5, 6)
    for index in [(0, 0, 0), (3, 1, 5), (2, 4, 0)]:
        ras = affine @ np.array([*index, 1.0])
        lps = np.asarray(image.TransformIndexToPhysicalPoint(index))
        np.testing.assert_allclose(lps, [-ras[0], -ras[1], ras[2]], atol=1e-9)
        assert image[index] == data[index]
    np.testing.assert_allclose(itk_to_affine(image), affine, atol=1e-9)
    np.testing.assert_array_equal(itk_to_array(image), data)


def test_saved_file_reads_back_with_the_same_geometry_in_both_libraries(tmp_path):
    data = np.random.default_rng(0).normal(size=(4, 5, 6)).astype(np.float32)
    affine = oblique_affine()
    path = save_itk_as_nifti(array_to_itk(data, affine), tmp_path / "x.nii.gz", codes=(4, 1))
    img = nib.load(str(path))
    np.testing.assert_allclose(img.affine, affine, atol=1e-5)
    assert int(img.header["sform_code"]) == 4 and int(img.header["qform_code"]) == 1
    np.testing.assert_allclose(img.header.get_qform(), affine, atol=1e-5)  # qform agrees too
    np.testing.assert_array_equal(img.get_fdata(dtype=np.float32), data)
    again = sitk.ReadImage(str(path))
    np.testing.assert_allclose(itk_to_affine(again), affine, atol=1e-5)
    np.testing.assert_array_equal(itk_to_array(again), data)


def test_sheared_affine_is_a_geometry_error():
    affine = np.eye(4)
    affine[0, 1] = 0.5
    with pytest.raises(GeometryError, match="sheared"):
        array_to_itk(np.zeros((2, 2, 2), np.float32), affine, "sheared.nii.gz")


def test_transform_matrix_and_composition_match_itk_point_mapping():
    euler = sitk.Euler3DTransform((10.0, -5.0, 3.0), 0.1, -0.2, 0.3, (4.0, 0.0, -2.0))
    affine = sitk.AffineTransform(3)
    affine.SetMatrix((1.1, 0.05, 0.0, 0.0, 0.9, 0.1, 0.0, 0.0, 1.0))
    affine.SetCenter((1.0, 2.0, 3.0))
    affine.SetTranslation((-1.0, 0.5, 2.0))
    point = (12.0, -7.0, 30.0)
    for transform in (euler, affine):
        mapped = transform_to_matrix(transform) @ np.array([*point, 1.0])
        np.testing.assert_allclose(mapped[:3], transform.TransformPoint(point), atol=1e-9)
    both = compose(affine, euler)  # euler first, then affine
    np.testing.assert_allclose(both.TransformPoint(point), affine.TransformPoint(euler.TransformPoint(point)),
                               atol=1e-9)
    shift = np.eye(4)
    shift[:3, 3] = [1.0, 2.0, 3.0]
    assert matrix_to_transform(shift).TransformPoint((0.0, 0.0, 0.0)) == (1.0, 2.0, 3.0)
    np.testing.assert_array_equal(RAS_TO_LPS @ RAS_TO_LPS, np.eye(4))


def test_resampled_grid_keeps_the_field_of_view():
    grid = make_grid((10, 10, 4), (2.0, 2.0, 2.0), (0.0, 0.0, 0.0), np.eye(3).ravel())
    fine = resampled_grid(grid, 1.0)
    assert fine.GetSize() == (20, 20, 8)
    # First voxel centre: edge at -1 mm, centre half a new voxel inside: -0.5 mm.
    np.testing.assert_allclose(fine.GetOrigin(), (-0.5, -0.5, -0.5))
    with pytest.raises(ConfigError):
        resampled_grid(grid, 0.0)


def test_crop_grid_is_centred_on_the_mask_bounding_box():
    grid = make_grid((20, 20, 20), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3).ravel())
    mask = sitk.Image(grid.GetSize(), sitk.sitkUInt8)
    mask.CopyInformation(grid)
    mask[4, 6, 8] = 1
    mask[10, 12, 14] = 1  # bounding box centre (7, 9, 11)
    cropped = crop_grid(grid, mask, (4, 6, 8))
    assert cropped.GetSize() == (4, 6, 8)
    # start = floor(centre - (size - 1) / 2) = (5, 6, 7)
    np.testing.assert_allclose(cropped.GetOrigin(), (5.0, 6.0, 7.0))


def test_missing_simpleitk_is_a_config_error(monkeypatch):
    import sys

    itk_bridge.sitk.cache_clear()
    monkeypatch.setitem(sys.modules, "SimpleITK", None)
    try:
        with pytest.raises(ConfigError, match="preprocess"):
            itk_bridge.sitk()
    finally:
        itk_bridge.sitk.cache_clear()
