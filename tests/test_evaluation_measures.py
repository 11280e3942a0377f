"""Every evaluation formula on arrays whose answer is worked by hand, and the library-backed
ones (SSIM, PSNR, t-tests, OLS) against the library called directly."""
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from data_tools.errors import ImageContentError
from msgan.evaluation.clinical import edss_regression, encode_sex, standardized_beta
from msgan.evaluation.comparison import paired_tests
from msgan.evaluation.demyelination import (demyelinated_map, distance_to_csf, percentage_demyelinated,
                                            pool_control_statistics)
from msgan.evaluation.image_quality import image_quality, mse, psnr, ssim
from msgan.evaluation.lesion_contrast import (contrast_ratios, false_positive_lesion_volume, false_positive_lesions,
                                              surrounding_nawm, threshold_segmentation)
from msgan.evaluation.longitudinal import dynamic_maps, longitudinal_indices
from msgan.evaluation.myelin import bland_altman, group_tests, prediction_discrepancy, roi_means, subject_rois
from msgan.evaluation.overlap import dice


def line(values):
    """A (1, 1, n) volume: 1-D arrays in 3-D, so dilations run along one axis only."""
    return np.asarray(values, dtype=float).reshape(1, 1, -1)


# -- overlap ------------------------------------------------------------------------------
def test_dice_hand_worked():
    a = line([1, 1, 1, 0, 0]).astype(bool)
    b = line([0, 0, 1, 1, 0]).astype(bool)
    assert dice(a, b) == pytest.approx(2 * 1 / 5)
    assert dice(a, a) == 1.0
    # both empty: undefined (n/a), never a perfect 1 that would inflate the mean
    assert math.isnan(dice(np.zeros(4, bool), np.zeros(4, bool)))
    assert dice(a, np.zeros_like(a)) == 0.0


# -- image quality --------------------------------------------------------------------------
def test_psnr_of_a_known_error_follows_eq_3_9():
    true = np.zeros((8, 8, 8))
    true[2:6, 2:6, 2:6] = 10.0  # MAX of the true image = 10
    pred = true + 1.0  # MSE = 1
    assert mse(true, pred) == pytest.approx(1.0)
    assert psnr(true, pred) == pytest.approx(20 * math.log10(10) - 10 * math.log10(1))  # 20 dB
    pred2 = true + 2.0  # MSE = 4: 20 - 10 log10(4)
    assert psnr(true, pred2) == pytest.approx(20 - 10 * math.log10(4))
    assert psnr(true, true) == math.inf


def test_psnr_and_ssim_agree_with_scikit_image():
    rng = np.random.default_rng(0)
    true = rng.uniform(0, 3, (16, 16, 16))
    pred = true + rng.normal(0, 0.2, true.shape)
    assert psnr(true, pred) == pytest.approx(peak_signal_noise_ratio(true, pred, data_range=true.max()))
    expected = structural_similarity(true, pred, data_range=true.max() - true.min())
    assert ssim(true, pred) == pytest.approx(expected)
    _, local = structural_similarity(true, pred, data_range=true.max() - true.min(), full=True)
    region = np.zeros(true.shape, bool)
    region[4:12, 4:12, 4:12] = True
    assert ssim(true, pred, region) == pytest.approx(local[region].mean())


def test_image_quality_inside_the_brain_uses_brain_voxels_only():
    true = np.zeros((10, 10, 10))
    brain = np.zeros(true.shape, bool)
    brain[2:8, 2:8, 2:8] = True
    true[brain] = 4.0
    pred = true.copy()
    pred[brain] += 0.5  # inside the brain every voxel is off by 0.5
    q = image_quality(true, pred, brain)
    assert q["mse_brain"] == pytest.approx(0.25)
    assert q["mse"] == pytest.approx(0.25 * brain.sum() / true.size)
    assert q["psnr_brain"] == pytest.approx(20 * math.log10(4) - 10 * math.log10(0.25))
    assert q["ssim"] < 1 and q["ssim_brain"] < 1
    assert image_quality(true, true, brain)["ssim_brain"] == pytest.approx(1.0)


# -- lesion contrast ------------------------------------------------------------------------
def test_lesion_twice_as_bright_as_nawm_gives_ratio_1_of_2():
    image = line([200, 200] + [100] * 10)
    lesions = line([1, 1] + [0] * 10).astype(bool)
    wm = np.ones_like(lesions)
    assert contrast_ratios(image, lesions, wm) == {"ratio1": pytest.approx(2.0), "ratio2": pytest.approx(2.0)}


def test_ratio_2_uses_the_five_voxel_surrounding_inside_white_matter():
    # lesions at 0-1, surrounding NAWM = voxels 2..6 (5-voxel dilation), far NAWM 7..19.
    image = line([200, 200] + [50] * 5 + [150] * 13)
    lesions = line([1, 1] + [0] * 18).astype(bool)
    wm = np.ones_like(lesions)
    assert surrounding_nawm(lesions, wm).ravel().nonzero()[0].tolist() == [2, 3, 4, 5, 6]
    ratios = contrast_ratios(image, lesions, wm)
    assert ratios["ratio2"] == pytest.approx(200 / 50)
    assert ratios["ratio1"] == pytest.approx(200 / ((5 * 50 + 13 * 150) / 18))
    # voxels outside WM are not part of the surrounding even when within 5 voxels
    wm_gap = wm.copy()
    wm_gap[0, 0, 2:4] = False
    assert surrounding_nawm(lesions, wm_gap).ravel().nonzero()[0].tolist() == [4, 5, 6]


def test_threshold_segmentation_mean_plus_k_sd_of_nawm():
    # NAWM: 9 and 11 alternately -> mean 10, SD 1; k = 2 -> threshold 12.
    image = line([13, 11.5, 9, 11, 9, 11, 9, 11, 9, 11])
    lesions = line([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]).astype(bool)
    wm = np.ones_like(lesions)
    seg = threshold_segmentation(image, wm, lesions, k=2.0)
    assert seg.ravel().nonzero()[0].tolist() == [0]
    seg_k1 = threshold_segmentation(image, wm, lesions, k=1.0)  # threshold 11: 13 and 11.5
    assert seg_k1.ravel().nonzero()[0].tolist() == [0, 1]


# -- myelin per region ----------------------------------------------------------------------
def test_roi_means_discrepancy_and_rois_by_group():
    wm = line([1, 1, 1, 1, 0]).astype(bool)
    lesions = line([1, 0, 0, 0, 0]).astype(bool)
    assert set(subject_rois("HC", wm, np.zeros_like(lesions))) == {"WM_HC"}
    rois = subject_rois("MS", wm, lesions)
    assert set(rois) == {"NAWM", "lesions"}
    image = line([0.8, 1.4, 1.6, 1.5, 0.3])
    means = roi_means(image, rois)
    assert means == {"NAWM": pytest.approx(1.5), "lesions": pytest.approx(0.8)}
    assert prediction_discrepancy(1.5, 1.42) == pytest.approx(0.08)
    assert prediction_discrepancy(1.42, 1.5) == pytest.approx(0.08)


def test_bland_altman_hand_worked():
    # differences 1, 2, 3: bias 2, SD 1, limits 2 -+ 1.96
    ba = bland_altman([1.0, 1.0, 1.0], [2.0, 3.0, 4.0])
    assert ba["bias"] == pytest.approx(2.0)
    assert ba["sd"] == pytest.approx(1.0)
    assert (ba["lower"], ba["upper"]) == (pytest.approx(0.04), pytest.approx(3.96))


def test_group_tests_agree_with_scipy():
    nawm = {"p1": 1.50, "p2": 1.44, "p3": 1.47, "p4": 1.52}
    wm_hc = {"c1": 1.55, "c2": 1.49, "c3": 1.53}
    lesions = {"p1": 1.20, "p2": 1.31, "p3": 1.10, "p4": 1.29}
    first, second = group_tests(nawm, wm_hc, lesions)
    expected = stats.ttest_ind(list(nawm.values()), list(wm_hc.values()), equal_var=False)
    assert (first.statistic, first.pvalue) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert first.df == pytest.approx(expected.df)  # Welch's fractional degrees of freedom
    expected = stats.ttest_rel([lesions[s] for s in sorted(lesions)], [nawm[s] for s in sorted(lesions)])
    assert (second.statistic, second.pvalue) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert second.df == expected.df == len(lesions) - 1  # one pair per patient


# -- demyelination --------------------------------------------------------------------------
def test_distance_to_csf_in_millimetres():
    csf = line([1, 0, 0, 0]).astype(bool)
    assert distance_to_csf(csf, zooms=(1, 1, 2)).ravel().tolist() == [0, 2, 4, 6]
    with pytest.raises(ImageContentError, match="CSF mask is empty"):
        distance_to_csf(np.zeros_like(csf), where="csf.nii.gz")


def test_control_statistics_pool_voxels_per_bin():
    # distances 0.5 and 1.5 fall in bin 0 (bin 2 mm), 2.5 in bin 1.
    distance = line([0.5, 1.5, 2.5])
    wm = np.ones(distance.shape, bool)
    thresholds = pool_control_statistics([(line([1.0, 3.0, 5.0]), distance, wm),
                                          (line([2.0, 2.0, 7.0]), distance, wm)], bin_mm=2.0, min_voxels=1)
    # bin 0 pools 1, 3, 2, 2: mean 2, SD sqrt(0.5); bin 1 pools 5, 7: mean 6, SD 1
    assert thresholds.mean.tolist() == pytest.approx([2.0, 6.0])
    assert thresholds.sd.tolist() == pytest.approx([math.sqrt(0.5), 1.0])
    assert thresholds.threshold.tolist() == pytest.approx([2 - math.sqrt(0.5), 5.0])
    # a voxel farther than any control voxel takes the nearest filled bin (bin 1)
    assert thresholds.lookup(np.array([0.1, 3.9, 9.0])).tolist() == pytest.approx([2 - math.sqrt(0.5), 5.0, 5.0])


def test_demyelinated_map_and_percentage_of_lesion_load():
    distance = line([0.5, 0.5, 2.5, 2.5, 2.5])
    wm = np.ones(distance.shape, bool)
    controls = [(line([1.9, 2.1, 5.9, 6.1, 6.0]), distance, wm)]
    thresholds = pool_control_statistics(controls, bin_mm=2.0, min_voxels=1)  # thresholds 1.9, ~5.918
    pet = line([1.5, 2.0, 5.0, 6.05, 7.0])
    lesions = line([1, 1, 1, 1, 0]).astype(bool)
    demy = demyelinated_map(pet, lesions, distance, thresholds)
    assert demy.ravel().tolist() == [True, False, True, False, False]  # the 7.0 voxel is not lesional
    assert percentage_demyelinated(demy, lesions) == pytest.approx(50.0)
    assert math.isnan(percentage_demyelinated(demy, np.zeros_like(lesions)))


# -- longitudinal ---------------------------------------------------------------------------
def test_known_demyelination_pattern_gives_known_indices():
    # 8 lesional voxels; t0: voxels 0-3 demyelinated (50 %); t1: voxels 2-6 (62.5 %).
    lesions = np.ones(8, bool)
    d0 = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    d1 = np.array([0, 0, 1, 1, 1, 1, 1, 0], bool)
    demyelinating, remyelinating = dynamic_maps(d0, d1, lesions)
    assert demyelinating.nonzero()[0].tolist() == [4, 5, 6]
    assert remyelinating.nonzero()[0].tolist() == [0, 1]
    indices = longitudinal_indices(d0, d1, lesions)
    assert indices["global_change"] == pytest.approx(62.5 - 50.0)
    assert indices["dynamic_demyelination"] == pytest.approx(100 * 3 / 4)
    assert indices["dynamic_remyelination"] == pytest.approx(100 * 2 / 4)
    # voxels outside the baseline lesions never count
    outside = np.array([0, 0, 0, 0, 0, 0, 0, 1], bool)
    assert longitudinal_indices(d0, d1 | outside, ~outside)["dynamic_demyelination"] == pytest.approx(100 * 3 / 3)
    assert math.isnan(longitudinal_indices(np.zeros(8, bool), d1, lesions)["dynamic_remyelination"])


# -- clinical correlation -------------------------------------------------------------------
def test_standardized_beta_hand_worked():
    x = np.array([1.0, 2.0, 3.0])  # SD 1
    y = np.array([0.0, 4.0, 8.0])  # SD 4
    assert standardized_beta(2.0, x, y) == pytest.approx(0.5)
    assert [encode_sex(v) for v in ("F", "male", 1.0)] == [1.0, 0.0, 1.0]
    assert math.isnan(encode_sex("other"))


def test_edss_regression_agrees_with_statsmodels():
    rng = np.random.default_rng(3)
    n = 12
    table = pd.DataFrame({"edss": rng.uniform(1, 6, n), "index": rng.uniform(0, 60, n),
                          "age": rng.uniform(25, 50, n), "sex": rng.integers(0, 2, n).astype(float),
                          "t2_lesion_load": rng.uniform(1, 10, n)})
    table.loc[3, "age"] = np.nan  # a row with a missing value is dropped
    result = edss_regression(table, "index").set_index("term")
    data = table.dropna()
    columns = ["index", "age", "sex", "t2_lesion_load"]
    fit = sm.OLS(data["edss"], sm.add_constant(data[columns])).fit()
    for term in columns:
        assert result.loc[term, "coef"] == pytest.approx(fit.params[term])
        assert result.loc[term, "se"] == pytest.approx(fit.bse[term])
        assert result.loc[term, "t"] == pytest.approx(fit.tvalues[term])
        assert result.loc[term, "p"] == pytest.approx(fit.pvalues[term])
        beta = fit.params[term] * data[term].std() / data["edss"].std()
        assert result.loc[term, "beta"] == pytest.approx(beta)
    assert (result["n"] == n - 1).all()
    assert edss_regression(table.iloc[:5], "index") is None  # no residual degree of freedom


# -- comparing methods ----------------------------------------------------------------------
def test_paired_tests_agree_with_scipy_ttest_rel():
    rng = np.random.default_rng(1)
    subjects = [f"s{i}" for i in range(6)]
    ref = rng.uniform(0.01, 0.02, 6)
    other = ref + rng.normal(0.002, 0.001, 6)
    table = pd.DataFrame({"subject": subjects * 2, "session": "t0", "method": ["ours"] * 6 + ["unet"] * 6,
                          "mse": np.concatenate([ref, other])})
    # the other method lacks one subject: only the 5 shared subjects are paired
    table = table.drop(index=11)
    result = paired_tests(table, ["mse"], "ours")
    expected = stats.ttest_rel(other[:5], ref[:5])
    row = result.iloc[0]
    assert (row.method, row.n) == ("unet", 5)
    assert (row.t, row.p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert row.mean_diff == pytest.approx((other[:5] - ref[:5]).mean())


def test_paired_tests_take_each_session_on_its_own_with_n_minus_1_degrees_of_freedom():
    # 6 patients seen at t0 and t1: pooling the sessions would pair each patient twice (df 11)
    rng = np.random.default_rng(4)
    n = 6
    rows = []
    for session in ("t0", "t1"):
        ref = rng.uniform(0.01, 0.02, n)
        for method, values in (("ours", ref), ("unet", ref + rng.normal(0.002, 0.001, n))):
            rows += [{"subject": f"s{i}", "session": session, "method": method, "mse": v}
                     for i, v in enumerate(values)]
    table = pd.DataFrame(rows)
    result = paired_tests(table, ["mse"], "ours")
    assert sorted(result.session) == ["t0", "t1"]
    for _, row in result.iterrows():
        part = table[table.session == row.session]
        a = part[part.method == "ours"].set_index("subject").mse
        b = part[part.method == "unet"].set_index("subject").mse
        expected = stats.ttest_rel(b[a.index], a)
        assert row.n == n and row.df == expected.df == n - 1
        assert (row.t, row.p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    with pytest.raises(ValueError, match="s0"):  # a subject twice in one session is refused
        paired_tests(pd.concat([table, table.iloc[[0]]]), ["mse"], "ours")


def test_summaries_leave_undefined_values_out_and_count_the_defined_ones():
    from msgan.evaluation.tables import mean_sd

    table = pd.DataFrame({"method": ["a"] * 3, "dice": [0.5, np.nan, 0.7]})
    row = mean_sd(table, ["method"], ["dice"]).iloc[0]
    assert row.dice_mean == pytest.approx(0.6) and row.dice_sd == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert (row.dice_n, row.n) == (2, 3)


def test_a_regression_that_cannot_run_is_stated_not_silently_dropped():
    import pandas as pd

    from msgan.evaluation.tables import clinical_regressions as _clinical

    rng = np.random.default_rng(0)
    rows = []
    for method in ("truth", "gan"):
        for i in range(8):
            rows.append({"method": method, "edss": float(i % 5), "age": 30.0 + 3 * i, "sex": "F" if i % 2 else "M",
                         "t2_lesion_load": 1.0 + rng.random(), "baseline_lesion_ml": 1.0,
                         "dynamic_demyelination": rng.random(),
                         # the GAN's maps show no demyelination at t0 in 6 patients: index undefined
                         "dynamic_remyelination": rng.random() if method == "truth" or i < 2 else np.nan})
    table, note = _clinical(pd.DataFrame(rows))
    kept = set(zip(table.maps, table["index"]))
    assert kept == {("truth", "dynamic_demyelination"), ("truth", "dynamic_remyelination"),
                    ("gan", "dynamic_demyelination")}
    assert "EDSS ~ dynamic_remyelination for gan maps: 2 patient(s) with the index defined" in note


def test_false_positive_lesions_threshold_both_images_and_keep_clusters_outside_the_real_ones():
    # expert lesions: voxels 0-1. Real NAWM (voxels 2-23): ten 9s, eleven 11s and a 13 at
    # voxel 16 -> mean 10.18, SD 1.153; k = 1 -> threshold 11.33: real hyperintense {0, 1, 16}.
    real = line([20, 20] + [9, 11] * 7 + [13, 11, 9, 11, 9, 11, 9, 11])
    lesions = line([1, 1] + [0] * 22).astype(bool)
    wm = np.ones_like(lesions)
    # synthetic NAWM: eight 30s (voxels 2, 5-7, 12, 15-17), fourteen 10s -> mean 17.27,
    # SD 9.62; threshold 26.89: hyperintense {0, 1, 2, 5, 6, 7, 12, 15, 16, 17}
    synthetic = np.full(24, 10.0)
    synthetic[[0, 1, 2, 5, 6, 7, 12, 15, 16, 17]] = 30
    synthetic = line(synthetic)
    # voxel 2 touches the expert lesions, 16 is real hyperintensity: candidates 5-7, 12, 15, 17;
    # clusters {5,6,7}, {12}, {15}, {17} (16 removed splits 15-17)
    fp = false_positive_lesions(synthetic, real, wm, lesions, k=1.0, min_voxels=2)
    assert fp.ravel().nonzero()[0].tolist() == [5, 6, 7]
    every = false_positive_lesions(synthetic, real, wm, lesions, k=1.0, min_voxels=1)
    assert every.ravel().nonzero()[0].tolist() == [5, 6, 7, 12, 15, 17]
    undilated = false_positive_lesions(synthetic, real, wm, lesions, k=1.0, min_voxels=1, dilation=0)
    assert undilated.ravel().nonzero()[0].tolist() == [2, 5, 6, 7, 12, 15, 17]
    assert not false_positive_lesions(synthetic, real, wm, lesions, k=1.0, min_voxels=4).any()
    # millilitres: 3 voxels of 0.5 mL; a positive linear rescaling of either image changes nothing
    assert false_positive_lesion_volume(synthetic, real, wm, lesions, 0.5, k=1.0, min_voxels=2) == 1.5
    assert false_positive_lesion_volume(3 * synthetic + 7, real / 4, wm, lesions, 0.5, k=1.0,
                                        min_voxels=2) == 1.5
    # k = 2 for the synthetic: threshold 36.5, nothing is hyperintense but nothing new either
    assert false_positive_lesion_volume(synthetic, real, wm, lesions, 0.5, k=2.0, min_voxels=1) == 0.0


def test_false_positive_clusters_are_26_connected():
    # two candidate voxels touching only at a corner (opposite corners of a cube) are one cluster of 2
    real = np.arange(8.0).reshape(2, 2, 2) % 2  # NAWM 0/1: mean 0.5, SD 0.5; k = 1: threshold 1, none above
    synthetic = real.copy()
    synthetic[0, 0, 0] = synthetic[1, 1, 1] = 5  # mean 1.625, SD 2.00: threshold 3.62
    wm, lesions = np.ones((2, 2, 2), bool), np.zeros((2, 2, 2), bool)
    fp = false_positive_lesions(synthetic, real, wm, lesions, k=1.0, min_voxels=2)
    assert sorted(tuple(int(i) for i in v) for v in np.argwhere(fp)) == [(0, 0, 0), (1, 1, 1)]
