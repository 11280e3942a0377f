"""``msgan make-tfrecords`` on bad input: one line naming the file, exit 2, no output left."""
import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import flip_inside_gzip, write_nifti

from msgan.cli import main

REPO = Path(__file__).resolve().parents[1]


def write_manifest(cohort: Path, path: Path, extra_rows=()):
    rows = ["subject,session,name,path"]
    for f in sorted(cohort.glob("sub-*/ses-*/*.nii.gz")):
        rows.append(f"{f.parts[-3][4:]},{f.parts[-2][4:]},{f.name[:-7]},{f.relative_to(cohort)}")
    path.write_text("\n".join(rows + list(extra_rows)) + "\n")
    return path


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr()


def no_output_left(out: Path) -> bool:
    return not out.exists() and not list(out.parent.glob(f".{out.name}.partial-*"))


T2 = "sub-p1/ses-t0/T2.nii.gz"
CASES = {  # name -> (how to break the tiny cohort, file the message must name, words it must contain)
    "missing file": ("missing", T2, "not found"),
    "corrupt gzip": ("gzip", T2, "corrupt or truncated gzip"),
    "truncated gzip": ("half", T2, "corrupt or truncated gzip"),
    "gzip CRC fails": ("crc", T2, "gzip"),
    "not a NIfTI": ("not_nifti", T2, "not a NIfTI"),
    "4-D image": ("4d", T2, "3-D"),
    "NaN voxels": ("nan", T2, "NaN"),
    "Inf voxels": ("inf", T2, "Inf"),
    "shape differs": ("shape", T2, "shape"),
    "affine differs": ("affine", T2, "affine"),
    "empty brain mask": ("empty_brain", "sub-p1/ses-t0/brainmask.nii.gz", "empty"),
    "lesions not 0/1": ("lesion_values", "sub-p1/ses-t0/lesions.nii.gz", "only 0 and 1"),
    "sequence missing": ("no_sequence", "sub-p2/ses-t0", "T2 is missing for subject p2"),
    "duplicate rows": ("duplicate", "manifest.csv:", "duplicate row"),
    "unknown name": ("unknown", "manifest.csv:", "unknown image name 'T3'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_no_output(tiny_cohort, tmp_path, capsys, case):
    how, names, words = CASES[case]
    path = tiny_cohort / T2
    extra = []
    if how == "missing":
        path.unlink()
    elif how == "gzip":
        path.write_bytes(path.read_bytes()[:80])
    elif how == "half":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "crc":
        flip_inside_gzip(path, "crc")
    elif how == "not_nifti":
        path.write_bytes(gzip.compress(b"plain text, not an image\n" * 40))
    elif how == "4d":
        write_nifti(path, np.ones((16, 16, 16, 2), np.float32))
    elif how in ("nan", "inf"):
        data = np.ones((16, 16, 16), np.float32)
        data[3, 4, 5] = np.nan if how == "nan" else np.inf
        write_nifti(path, data)
    elif how == "shape":
        write_nifti(path, np.ones((16, 16, 15), np.float32))
    elif how == "affine":
        write_nifti(path, np.ones((16, 16, 16), np.float32), np.diag([2.0, 2.0, 2.5, 1.0]))
    elif how == "empty_brain":
        write_nifti(tiny_cohort / names, np.zeros((16, 16, 16), np.uint8))
    elif how == "lesion_values":
        write_nifti(tiny_cohort / names, np.full((16, 16, 16), 2, np.uint8))
    elif how == "no_sequence":
        (tiny_cohort / "sub-p2/ses-t0/T2.nii.gz").unlink()
    elif how == "duplicate":
        extra = [f"p1,t0,T2,{T2}"]
    elif how == "unknown":
        extra = [f"p1,t0,T3,{T2}"]
    manifest = write_manifest(tiny_cohort, tmp_path / "manifest.csv", extra)
    if how == "missing":  # the manifest still lists the deleted file
        manifest.write_text(manifest.read_text() + f"p1,t0,T2,{T2}\n")
    out = tmp_path / "out"
    code, captured = run_main(capsys, "make-tfrecords", "--manifest", str(manifest), "--root", str(tiny_cohort),
                              "--task", "flair", "--inputs", "T1,T2", "--out", str(out), "--patch", "8")
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert names in lines[0] and words in lines[0]
    assert no_output_left(out)


def test_existing_output_needs_overwrite(tiny_cohort, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair", "--inputs", "T1,T2",
            "--out", str(out), "--patch", "16"]
    code, captured = run_main(capsys, *args)
    assert code == 2 and captured.err.strip() == f"error: {out}: output exists; pass --overwrite to replace it"
    assert (out / "keep.txt").read_text() == "mine"
    code, captured = run_main(capsys, *args, "--overwrite")
    assert code == 0 and "wrote" in captured.out
    assert (out / "index.json").is_file() and not (out / "keep.txt").exists()


def test_console_command_in_a_subprocess(tiny_cohort, tmp_path):
    """The real entry point: a bad file ends the process with exit 2 and one stderr line."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    (tiny_cohort / T2).write_bytes(b"not gzip at all")
    out = tmp_path / "shards"
    done = subprocess.run([sys.executable, "-m", "msgan", "make-tfrecords", "--cohort", str(tiny_cohort),
                           "--task", "flair", "--out", str(out), "--layout", "whole"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {tiny_cohort / T2}: corrupt or truncated gzip data (Not a gzipped file (b'no'))"
    assert no_output_left(out)
