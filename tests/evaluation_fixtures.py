"""A small synthetic myelin cohort whose every index has a hand-worked answer.

Geometry (24^3 voxels of 1 mm): brain = [2:22]^3; CSF = brain with x < 5 (so the distance
to CSF of a voxel at x >= 5 is x - 4 mm); GM = 5 <= x < 8; WM = x >= 8.
True PIB DVR: CSF 0.5, GM 1.0, WM 1.4 or 1.6 on a (y + z) checkerboard, so every
distance bin of the controls' WM has mean 1.5 and SD 0.1 (ddof=0): the demyelination
threshold is 1.4 everywhere. Lesions are the block x 12:16, y 10:14, z 10:14 (64 voxels,
four x-slabs of 16); a demyelinated slab has DVR 1.0, a normal one 1.6.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import write_nifti

SHAPE = (24, 24, 24)
AFFINE = np.eye(4)
LESION_X = (12, 13, 14, 15)


def anatomy():
    x, y, z = np.indices(SHAPE)
    brain = np.zeros(SHAPE, bool)
    brain[2:22, 2:22, 2:22] = True
    csf = brain & (x < 5)
    gm = brain & (x >= 5) & (x < 8)
    wm = brain & (x >= 8)
    lesions = np.zeros(SHAPE, bool)
    lesions[12:16, 10:14, 10:14] = True
    return {"brain": brain, "csf": csf, "gm": gm, "wm": wm, "lesions": lesions, "x": x, "y": y, "z": z}


def true_pib(demyelinated_slabs=(), lesional: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(DVR map, demyelinated mask): lesion slabs x in ``demyelinated_slabs`` at 1.0, the others 1.6."""
    a = anatomy()
    pib = np.zeros(SHAPE, np.float32)
    pib[a["csf"]] = 0.5
    pib[a["gm"]] = 1.0
    pib[a["wm"]] = np.where((a["y"] + a["z"]) % 2 == 0, 1.4, 1.6)[a["wm"]]
    demyelinated = np.zeros(SHAPE, bool)
    if lesional:
        pib[a["lesions"]] = 1.6
        demyelinated = a["lesions"] & np.isin(a["x"], list(demyelinated_slabs))
        pib[demyelinated] = 1.0
    return pib, demyelinated


def write_session(folder: Path, pib: np.ndarray, lesional: bool, demyelinated=None,
                  skip: tuple[str, ...] = ()) -> None:
    a = anatomy()
    masks = {"brainmask": a["brain"], "wm": a["wm"], "csf": a["csf"], "gm": a["gm"]}
    if lesional:
        masks["lesions"] = a["lesions"]
    for name, mask in masks.items():
        if name not in skip:
            write_nifti(folder / f"{name}.nii.gz", mask.astype(np.uint8), AFFINE)
    write_nifti(folder / "PIB.nii.gz", pib, AFFINE)
    for name, value in (("MTR", 30.0), ("FA", 0.4)):
        write_nifti(folder / f"{name}.nii.gz", np.where(a["brain"], value * pib, 0).astype(np.float32), AFFINE)
    if demyelinated is not None:
        write_nifti(folder / "demyelinated.nii.gz", demyelinated.astype(np.uint8), AFFINE)


#: patient id -> (demyelinated slabs at t0, at t1 or None for no follow-up), EDSS, age, sex, T2 load
PATIENTS = {
    "p1": ((12, 13, 14), (14, 15), 3.0, 30, "F", 4.1),
    "p2": ((12,), (12, 13), 2.0, 34, "M", 3.0),
    "p3": ((12, 13), (13,), 1.5, 27, "F", 6.2),
    "p4": ((15,), (12, 15), 4.0, 41, "F", 2.2),
    "p5": ((12, 13, 14), (12, 13), 2.5, 38, "M", 5.5),
    "p6": ((13,), (13, 14, 15), 6.0, 45, "F", 7.9),
    "p7": ((14, 15), (12, 13), 3.5, 29, "M", 1.4),
    "p8": ((12, 15), None, 2.0, 33, "F", 3.3),
}
CONTROLS = {"c1": (28, "F"), "c2": (35, "M")}


def make_myelin_cohort(root: Path) -> Path:
    """8 patients (p8 without t1) and 2 controls; returns the cohort folder."""
    rows = ["participant_id\tgroup\tage\tsex\tedss\tt2_lesion_load"]
    for sid, (t0, t1, edss, age, sex, load) in PATIENTS.items():
        for session, slabs in (("t0", t0), ("t1", t1)):
            if slabs is None:
                continue
            pib, demy = true_pib(slabs)
            write_session(root / f"sub-{sid}" / f"ses-{session}", pib, True, demy)
        rows.append(f"sub-{sid}\tMS\t{age}\t{sex}\t{edss}\t{load}")
    for sid, (age, sex) in CONTROLS.items():
        pib, _ = true_pib(lesional=False)
        write_session(root / f"sub-{sid}" / "ses-t0", pib, False)
        rows.append(f"sub-{sid}\tHC\t{age}\t{sex}\tn/a\tn/a")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


def write_predictions(cohort_root: Path, pred_root: Path, target: str = "PIB", transform=None,
                      skip: tuple[tuple[str, str], ...] = ()) -> Path:
    """Copy every session's true ``target`` as ``<pred>/sub-X/ses-Y/<target>_pred.nii.gz``,
    optionally transformed (``transform(array, subject, session)``)."""
    import nibabel as nib

    for path in sorted(cohort_root.glob(f"sub-*/ses-*/{target}.nii.gz")):
        subject, session = path.parent.parent.name, path.parent.name
        if (subject, session) in skip:
            continue
        img = nib.load(str(path))
        data = np.asarray(img.dataobj, np.float32)
        if transform is not None:
            data = transform(data, subject, session).astype(np.float32)
        write_nifti(pred_root / subject / session / f"{target}_pred.nii.gz", data, img.affine)
    return pred_root
