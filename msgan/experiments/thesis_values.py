"""The thesis's published numbers that the chapter reports print beside msgan's.

Copied from /work/shared/reference/thesis.txt (the thesis text); each table cites its
table and section. Values are mean (SD) as printed, ``*`` = the thesis's star (p < 0.05
against its proposed method, two-sided t-test).
"""
from __future__ import annotations

#: Table 4.1 (sec. 4.3.2): MSE, PSNR per method, mean (SD).
TABLE_4_1 = {
    "2-Layer DNN": ("0.0136 (0.0048)*", "27.767 (1.214)*"),
    "3D U-Net": ("0.0107 (0.0041)*", "29.297 (0.986)*"),
    "cGAN": ("0.0094 (0.0038)", "29.475 (0.981)"),
    "Refiner cGAN": ("0.0083 (0.0037)", "30.044 (1.095)"),
    "CF-SAGAN": ("0.0085 (0.0042)", "29.942 (1.065)"),
    "Refiner CF-SAGAN": ("0.0078 (0.0038)", "30.285 (0.0993)"),
}

#: Table 4.2 (sec. 4.3.3): (a) MSE and (b) lesion myelin-content discrepancy, per model and loss.
TABLE_4_2A = {
    "3D U-Net": {"L1": "0.0107 (0.0041)", "WL1": "0.0113 (0.0043)", "NWL1": "0.0111 (0.0047)"},
    "cGAN": {"L1": "0.0094 (0.0038)", "WL1": "0.0103 (0.0042)", "NWL1": "0.0098 (0.0044)"},
    "CF-SAGAN": {"L1": "0.0085 (0.0042)", "WL1": "0.0097 (0.0039)", "NWL1": "0.0089 (0.0041)"},
}
TABLE_4_2B = {
    "3D U-Net": {"L1": "0.035 (0.027)", "WL1": "0.032 (0.029)", "NWL1": "0.031 (0.032)"},
    "cGAN": {"L1": "0.030 (0.017)", "WL1": "0.027 (0.022)", "NWL1": "0.028 (0.019)"},
    "CF-SAGAN": {"L1": "0.027 (0.020)", "WL1": "0.024 (0.016)", "NWL1": "0.022 (0.017)"},
}

#: Table 4.3 (sec. 4.3.6, printed in sec. 4.4): OLS of baseline EDSS on each index + age, gender, T2 lesion
#: load; (coefficient, SE, t, p, beta) for (a) true-PET and (b) synthesized-PET indices.
TABLE_4_3 = {
    ("truth", "dynamic_demyelination"): {
        "index": (0.090, 0.157, 0.58, 0.578, 0.216), "age": (-0.019, 0.090, -0.21, 0.840, -0.065),
        "sex": (-0.893, 1.126, -0.79, 0.446, -0.269), "t2_lesion_load": (1.01e-5, 1.75e-5, 0.58, 0.577, 0.207)},
    ("truth", "dynamic_remyelination"): {
        "index": (-0.233, 0.085, -2.75, 0.021, -0.703), "age": (-0.047, 0.067, -0.70, 0.498, -0.164),
        "sex": (-0.062, 0.869, -0.07, 0.944, -0.019), "t2_lesion_load": (5.22e-6, 1.16e-5, 0.45, 0.661, 0.107)},
    ("predicted", "dynamic_demyelination"): {
        "index": (0.071, 0.165, 0.43, 0.676, 0.173), "age": (-0.014, 0.091, -0.15, 0.882, -0.048),
        "sex": (-0.980, 1.120, -0.87, 0.402, -0.295), "t2_lesion_load": (9.99e-6, 1.92e-5, 0.52, 0.614, 0.205)},
    ("predicted", "dynamic_remyelination"): {
        "index": (-0.258, 0.084, -3.07, 0.012, -0.734), "age": (-0.050, 0.064, -0.78, 0.452, -0.017),
        "sex": (-0.063, 0.816, -0.08, 0.940, -0.019), "t2_lesion_load": (7.47e-6, 1.1e-5, 0.68, 0.513, 0.153)},
}

#: Sec. 4.3.4-4.3.5 and 4.4, in words where the thesis gives no table.
FIG_4_4 = "DICE of the two example patients' demyelinated maps: 0.89 and 0.85 (Fig. 4.4B caption)"
FIG_4_5 = ("global change between -0.13 and +0.14; DICE of the dynamic maps 0.71 +- 0.11 (demyelination) "
           "and 0.69 +- 0.12 (remyelination), sec. 4.3.5")
SEC_4_3_5 = "every patient but one (P8, true change 0.006) in the right category (sec. 4.3.5)"
SEC_4_4 = "three CF-SAGANs: performance 'nearly the same' as two, so two are kept (sec. 4.4, no numbers given)"
FIG_4_6 = "three patients: prevalent demyelination (A), mixed (B), extensive remyelination (C)"

#: Table 3.1 (sec. 3.3.2): MSE, PSNR per method (stars: differs from the Refiner).
TABLE_3_1 = {
    "2-Layer DNN": ("0.0136 (0.0048)*", "27.767 (1.214)*"),
    "3D U-Net": ("0.0107 (0.0041)*", "29.297 (0.986)"),
    "3D U-Net+L1W": ("0.0113 (0.0043)*", "28.606 (1.007)*"),
    "Sketcher": ("0.0094 (0.0038)", "29.475 (0.981)"),
    "Sketcher+L1W": ("0.0103 (0.0042)", "29.077 (0.995)*"),
    "Refiner": ("0.0083 (0.0037)", "30.044 (1.095)"),
}
#: Table 3.2 (sec. 3.3.2): discrepancy in WM of controls, NAWM and lesions of patients.
TABLE_3_2 = {
    "2-Layer DNN": ("0.059 (0.040)", "0.041 (0.036)", "0.131 (0.051)*"),
    "3D U-Net": ("0.053 (0.034)", "0.039 (0.033)", "0.035 (0.027)"),
    "3D U-Net+L1W": ("0.054 (0.034)", "0.038 (0.031)", "0.032 (0.029)"),
    "Sketcher": ("0.053 (0.041)", "0.034 (0.022)", "0.030 (0.017)"),
    "Sketcher+L1W": ("0.052 (0.037)", "0.035 (0.027)", "0.027 (0.022)"),
    "Refiner": ("0.048 (0.026)", "0.029 (0.021)", "0.022 (0.015)"),
}
#: Tables 3.3 and 3.4 (sec. 3.3.7): the Refiner with MTR, MTR+RD, MTR+DTI.
TABLE_3_3 = {"MTR": ("0.0094 (0.0043)", "29.524 (1.671)"), "MTR+RD": ("0.0092 (0.0043)", "29.581 (1.679)"),
             "MTR+DTI": ("0.0083 (0.0037)", "30.044 (1.095)")}
TABLE_3_4 = {"MTR": ("0.059 (0.040)", "0.036 (0.021)", "0.037 (0.029)"),
             "MTR+RD": ("0.050 (0.030)", "0.031 (0.019)", "0.025 (0.017)"),
             "MTR+DTI": ("0.048 (0.026)", "0.029 (0.021)", "0.022 (0.015)")}
FIG_3_5 = ("MSE and discrepancy improve sharply from K = 0 to 1, slightly to 2, and worsen at 3 "
           "(sec. 3.3.3, plotted only)")
SEC_3_3_4 = "NAWM vs WM of controls p = 0.88; lesions vs NAWM p < 0.0001, true and synthetic maps alike"
FIG_3_7 = "Refiner's mean bias 0.0091 (WM/NAWM) and -0.06 (lesions)"
FIG_3_8 = "DICE of the demyelinated maps 0.83 +- 0.12 (two examples 0.88 and 0.72)"
FIG_3_9 = "with weighted L1 the attention shifts to the lesions; with L1 to the ventricles"
SEC_3_3_7 = "adding FA and AD to MTR+RD: improvement not significant (p > 0.5)"

#: Table 2.1 (sec. 2.3.1): FCN width -> MSE (SD), parameters, inference seconds per volume (GTX TITAN X).
TABLE_2_1 = {32: ("1094.52 (49.46)", "60.6 K", "0.72"), 64: ("918.07 (41.70)", "213.7 K", "1.34"),
             96: ("909.84 (38.68)", "513.5 K", "2.58")}
FIG_2_3 = ("L = 2 ends worse than L = 3; L = 4 converges more slowly to the level of L = 3; L = 6 ends worse "
           "than L = 3")
#: Table 2.2 (sec. 2.3.2), the Average rows: (a) MSE and (b) SSIM, mean (SD); the fold rows are in the thesis.
TABLE_2_2A = {"Random Forest 60": "983.22 (80.99)", "Modality Propagation": "2085.53 (156.80)",
              "Multilayer Perceptron": "1273.22 (124.70)", "U-Net": "919.26 (40.95)", "Our Method": "918.07 (41.70)"}
TABLE_2_2B = {"Random Forest 60": "0.830 (0.039)", "Modality Propagation": "0.718 (0.045)",
              "Multilayer Perceptron": "0.780 (0.046)", "U-Net": "0.854 (0.033)", "Our Method": "0.860 (0.031)"}
#: Table 2.3 (eq. 2.4): lesion contrast Ratio 1 (lesions / NAWM) and Ratio 2 (lesions / surrounding NAWM).
TABLE_2_3 = {"Random Forest 60": ("1.33 (0.07)", "1.15 (0.04)"), "Modality Propagation": ("1.31 (0.06)", "1.13 (0.04)"),
             "Multilayer Perceptron": ("1.39 (0.11)", "1.20 (0.05)"), "U-Net": ("1.34 (0.09)", "1.17 (0.04)"),
             "Our Method": ("1.47 (0.13)", "1.22 (0.07)"), "Ground Truth": ("1.66 (0.12)", "1.33 (0.09)")}
FIG_2_5 = "DICE of the lesion segmentations of synthetic and true FLAIR 0.73 (0.12)"
FIG_2_6 = "T1-w, DIR and T2-w contribute more than PD or T1SE; DIR the most (Table 2.4 (a))"
#: Table 2.4 (sec. 2.3.3), the Average rows (MSE (SD)): (a) one sequence removed, (b) without DIR, (c) combinations.
TABLE_2_4A = {"T1": "975.16 (76.62)", "T1SE": "936.67 (72.00)", "T2": "961.90 (75.54)", "PD": "931.01 (64.63)",
              "DIR": "1096.14 (101.11)"}
TABLE_2_4B = {"Random Forest 60": "1156.21 (114.54)", "Multilayer Perceptron": "1410.86 (126.79)",
              "U-Net": "1076.34 (107.55)", "Our Method": "1096.14 (101.11)"}
TABLE_2_4C = {"T1+DIR": "972.21 (74.60)", "T2+DIR": "992.19 (95.82)", "T1+T2": "1277.64 (119.87)",
              "T1+T2+DIR": "944.44 (75.47)", "T1+T2+PD": "1233.46 (112.89)"}
