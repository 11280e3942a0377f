"""Read a BIDS dataset as a msgan cohort (pybids), and name BIDS derivatives.

Raw images come from ``sub-*/[ses-*/]anat/``; maps and masks also from the dataset's
``derivatives/*/`` pipelines (each with its ``dataset_description.json``):

| BIDS file | msgan name |
| --- | --- |
| ``*_T1w`` without ``ce-`` / with ``ce-<agent>`` | T1 / T1POST |
| ``*_T2w``, ``*_PDw``, ``*_FLAIR`` | T2, PD, FLAIR |
| ``*_MTRmap`` (or ``desc-MTR``) | MTR |
| ``desc-``/``param-`` ``FA``, ``RD``, ``AD`` (any suffix, e.g. ``_dwimap``), or suffix ``FA``/``RD``/``AD`` | FA, RD, AD |
| ``desc-DVR``/``desc-PIB`` or suffix ``DVR`` (derivatives of a PiB PET) | PIB |
| ``*_mask`` with ``desc-``/``label-`` ``brain``, ``lesion(s)``, ``WM``, ``GM``, ``CSF`` | brainmask, lesions, wm, gm, csf |

Choices a researcher should know (and the log lists what they skipped):
- a subject without the ``ses-`` level gets one session named ``t0`` (msgan's baseline);
  its derivatives are written back without ``ses-``;
- several files of one image in one session (``run-``, ``acq-``): the highest ``run-``
  wins (a repeat is usually the good one), then the first ``acq-`` in name order; the
  others are skipped with a warning;
- files msgan has no name for (other suffixes, ``desc-synthetic`` outputs of msgan itself)
  are ignored; a sequence missing from a session is simply absent, so a command that
  needs it names the session.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from data_tools.errors import CohortError, InputFileError

log = logging.getLogger(__name__)

NO_SESSION = "t0"  # msgan's name for the one session of a subject without ses- folders
SYNTHETIC_DESC = "synthetic"

_RAW_SUFFIXES = {"t2w": "T2", "pdw": "PD", "flair": "FLAIR", "mtrmap": "MTR"}
_MAP_LABELS = {"mtr": "MTR", "fa": "FA", "rd": "RD", "ad": "AD", "dvr": "PIB", "pib": "PIB"}
_MASK_LABELS = {"brain": "brainmask", "lesion": "lesions", "lesions": "lesions",
                "wm": "wm", "gm": "gm", "csf": "csf"}
#: msgan's name -> the BIDS file a session needs for it (the table above), for messages
BIDS_PATTERNS = {"T1": "*_T1w (without ce-)", "T1POST": "*_ce-<agent>_T1w", "T2": "*_T2w", "PD": "*_PDw",
                 "FLAIR": "*_FLAIR", "MTR": "*_MTRmap", "FA": "*_desc-FA_*", "RD": "*_desc-RD_*",
                 "AD": "*_desc-AD_*", "PIB": "*_desc-DVR_*", "brainmask": "*_desc-brain_mask"}


def bids_pattern(name: str) -> str:
    """The BIDS file pattern of msgan's image ``name`` (``T1POST`` -> ``*_ce-<agent>_T1w``)."""
    return BIDS_PATTERNS.get(name, name)


#: msgan's name -> (datatype folder, BIDS suffix) of its synthetic derivative
DERIVATIVE_FILE = {"FLAIR": ("anat", "FLAIR"), "PIB": ("pet", "pet"), "T1": ("anat", "T1w"),
                   "T2": ("anat", "T2w"), "PD": ("anat", "PDw")}


@dataclass(frozen=True)
class BidsKey:
    """Where a session sits in BIDS: ``session`` is None for a subject without ``ses-``."""

    subject: str
    session: str | None

    def folder(self, datatype: str = "anat") -> Path:
        parts = [f"sub-{self.subject}"] + ([f"ses-{self.session}"] if self.session else [])
        return Path(*parts, datatype)

    def prefix(self) -> str:
        return f"sub-{self.subject}" + (f"_ses-{self.session}" if self.session else "")


def is_bids_dataset(root: str | Path) -> bool:
    """A folder with ``dataset_description.json``, or ``sub-*`` folders holding ``anat/``."""
    root = Path(root)
    if (root / "dataset_description.json").is_file():
        return True
    return any(root.glob("sub-*/anat")) or any(root.glob("sub-*/ses-*/anat"))


def msgan_name(entities: dict, filename: str) -> str | None:
    """The msgan name of one BIDS file (None: not an image msgan uses)."""
    suffix = str(entities.get("suffix", "")).lower()
    desc = str(entities.get("desc", "")).lower()
    label = str(entities.get("label", "")).lower()
    if desc.startswith(SYNTHETIC_DESC):
        return None  # msgan's own outputs are never inputs
    if suffix == "mask":
        return _MASK_LABELS.get(desc) or _MASK_LABELS.get(label)
    if suffix == "t1w":
        return "T1POST" if entities.get("ceagent") else "T1"
    if suffix in _RAW_SUFFIXES:
        return _RAW_SUFFIXES[suffix]
    param = re.search(r"_param-([A-Za-z0-9]+)", filename)
    for candidate in (desc, param.group(1).lower() if param else "", suffix):
        if candidate in _MAP_LABELS:
            return _MAP_LABELS[candidate]
    return None


def _rank(entities: dict, path: str) -> tuple:
    """Sort key: the preferred file of one image last (highest run, then first acq-)."""
    run = entities.get("run")
    return (int(run) if run is not None else 0, _negated(str(entities.get("acquisition", ""))), path)


def _negated(text: str) -> tuple:
    return tuple(-ord(c) for c in text)


def check_descriptions(root: Path) -> None:
    """Raise naming the first ``dataset_description.json`` (the dataset's, or a derivative
    pipeline's) that is not a JSON object: pybids would otherwise read past it in silence."""
    for path in [root / "dataset_description.json", *sorted(root.glob("derivatives/*/dataset_description.json"))]:
        if not path.is_file():
            continue
        try:
            description = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputFileError(f"not valid JSON ({exc})", path) from None
        if not isinstance(description, dict):
            raise InputFileError("not a JSON object ({\"Name\": ..., \"BIDSVersion\": ...})", path)


def bids_files(root: str | Path) -> dict[BidsKey, dict[str, Path]]:
    """``{BidsKey: {msgan name: file}}`` of a BIDS dataset, derivatives included."""
    from bids import BIDSLayout  # pybids: the field's parser, imported only for BIDS input

    root = Path(root)
    if not root.is_dir():
        raise InputFileError("BIDS dataset folder not found", root)
    check_descriptions(root)
    try:
        layout = BIDSLayout(str(root), validate=False, derivatives=(root / "derivatives").is_dir())
    except Exception as exc:  # pybids raises many types for a malformed dataset
        raise CohortError(f"not a readable BIDS dataset ({exc})", root) from None
    sessions_of = {}
    for entry in layout.get(extension=[".nii.gz", ".nii"], return_type="object"):
        entities = entry.get_entities()
        name = msgan_name(entities, Path(entry.path).name)
        if name is None or "subject" not in entities:
            continue
        key = BidsKey(str(entities["subject"]), entities.get("session"))
        sessions_of.setdefault(key, {}).setdefault(name, []).append((_rank(entities, entry.path), Path(entry.path)))
    chosen: dict[BidsKey, dict[str, Path]] = {}
    skipped = []
    for key, names in sorted(sessions_of.items(), key=lambda item: (item[0].subject, item[0].session or "")):
        chosen[key] = {}
        for name, candidates in names.items():
            candidates.sort()
            chosen[key][name] = candidates[-1][1]
            skipped += [f"{path.name} ({name}: {candidates[-1][1].name} used)" for _, path in candidates[:-1]]
    if skipped:
        log.warning("BIDS: %d file(s) skipped where a session has several of one image: %s",
                    len(skipped), "; ".join(skipped))
    if not chosen:
        raise CohortError("no BIDS image msgan can use (T1w, T2w, PDw, FLAIR, MTRmap, "
                          "FA/RD/AD or PiB DVR derivatives)", root)
    return chosen


def derivative_path(key: BidsKey, target: str, sd: bool = False) -> Path:
    """Path (below the derivatives folder) of msgan's synthetic ``target`` for ``key``:
    ``sub-X/[ses-Y/]anat/sub-X[_ses-Y]_desc-synthetic_FLAIR.nii.gz`` (PIB: ``pet/..._pet``),
    or with ``sd`` its Monte-Carlo dropout SD map, ``desc-syntheticSD``."""
    if target not in DERIVATIVE_FILE:
        raise CohortError(f"no BIDS suffix for a synthetic {target}")
    datatype, suffix = DERIVATIVE_FILE[target]
    desc = SYNTHETIC_DESC + ("SD" if sd else "")
    return key.folder(datatype) / f"{key.prefix()}_desc-{desc}_{suffix}.nii.gz"
