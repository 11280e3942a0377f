"""Find the subjects, sessions and images of a cohort, from a folder or a manifest CSV.

Three ways in, one object out (DESIGN.md, "Cohorts on disk"):

1. a cohort folder ``sub-<id>/ses-<name>/<NAME>.nii.gz`` with ``participants.tsv``;
2. a BIDS dataset (``data_tools.io.bids``, read with pybids);
3. a manifest CSV ``subject,session,name,path`` for files named anyhow, paths relative
   to the CSV or to ``root``, with an optional participants table.

Only paths are collected here; images are read (and validated) when a session loads them.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from data_tools.errors import CohortError, InputFileError
from data_tools.io.bids import NO_SESSION, BidsKey, bids_files, is_bids_dataset
from data_tools.io.nifti import Volume, check_same_grid, load_volume

#: Canonical image names, in the channel order used whenever several are inputs.
IMAGE_NAMES = ("T1", "T2", "PD", "T1SE", "DIR", "T1POST", "FLAIR", "MTR", "FA", "RD", "AD", "PIB")
#: Binary masks a session may carry.
MASK_NAMES = ("brainmask", "lesions", "wm", "gm", "csf")
#: Ground truth written by the simulator only (true myelin content, true demyelination).
TRUTH_NAMES = ("myelin", "demyelinated")
KNOWN_NAMES = IMAGE_NAMES + MASK_NAMES + TRUTH_NAMES
_BINARY = set(MASK_NAMES) | {"demyelinated"}


def canonical_name(name: str, where: str | Path | None = None) -> str:
    """Map a user-given name to its canonical spelling (case-insensitive) or raise."""
    lookup = {n.lower(): n for n in KNOWN_NAMES}
    try:
        return lookup[name.strip().lower()]
    except KeyError:
        raise CohortError(f"unknown image name {name!r}; known names: {', '.join(KNOWN_NAMES)}",
                          where) from None


def parse_names(text: str | Iterable[str]) -> list[str]:
    """``"T1,t2"`` -> ``["T1", "T2"]`` (canonical, order kept, duplicates refused)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [canonical_name(n) for n in items if str(n).strip()]
    if len(set(names)) != len(names):
        raise CohortError(f"a name is given twice in {','.join(names)}")
    return names


@dataclass
class Session:
    """One visit of one subject: canonical name -> file."""

    subject: str
    name: str
    files: dict[str, Path] = field(default_factory=dict)
    bids: BidsKey | None = None  # where the session sits in a BIDS dataset it was read from

    @property
    def label(self) -> str:
        return f"sub-{self.subject}/ses-{self.name}"

    def has(self, name: str) -> bool:
        return name in self.files

    def path(self, name: str) -> Path:
        if name not in self.files:
            raise CohortError(f"{name} is missing for subject {self.subject} session {self.name}",
                              self.label)
        return self.files[name]

    def require(self, names: Iterable[str]) -> None:
        """Raise naming the first of ``names`` this session lacks."""
        for name in names:
            self.path(name)

    def load(self, name: str) -> Volume:
        """Read one image or mask (masks as bool, validated 0/1)."""
        return load_volume(self.path(name), mask=name in _BINARY)

    def load_many(self, names: Iterable[str]) -> list[Volume]:
        """Read several images and check they share one voxel grid."""
        vols = [self.load(n) for n in names]
        check_same_grid(vols)
        return vols

    def stack(self, names: Iterable[str]) -> tuple[np.ndarray, Volume]:
        """Channels-last float32 array of ``names`` and the first volume (for geometry)."""
        vols = self.load_many(list(names))
        return np.stack([v.data for v in vols], axis=-1).astype(np.float32), vols[0]


@dataclass
class Subject:
    id: str
    sessions: dict[str, Session] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def group(self) -> str | None:
        """``"MS"`` or ``"HC"`` when the participants table says so."""
        return self.info.get("group")


@dataclass
class Cohort:
    subjects: dict[str, Subject]
    source: Path

    def __len__(self) -> int:
        return len(self.subjects)

    def ids(self) -> list[str]:
        return list(self.subjects)

    def select(self, subjects: Iterable[str] | None = None) -> "Cohort":
        """A cohort with only ``subjects`` (unknown ids are an error)."""
        if subjects is None:
            return self
        wanted = [s.strip().removeprefix("sub-") for s in subjects if s.strip()]
        unknown = [s for s in wanted if s not in self.subjects]
        if unknown:
            raise CohortError(f"unknown subject(s) {', '.join(unknown)}", self.source)
        return Cohort({s: self.subjects[s] for s in wanted}, self.source)

    def sessions(self, session: str | None = None) -> list[Session]:
        """All sessions, or the sessions called ``session`` (subjects lacking it are skipped)."""
        out = []
        for subj in self.subjects.values():
            for name, ses in subj.sessions.items():
                if session is None or name == session:
                    out.append(ses)
        return out


def _read_participants(path: Path) -> dict[str, dict]:
    """participants.tsv/csv -> {subject id without 'sub-': row}, numbers parsed."""
    if not path.exists():
        return {}
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=delimiter))
    if rows and "participant_id" not in rows[0]:
        raise CohortError("participants table has no participant_id column", path)
    table = {}
    for row in rows:
        sid = row.pop("participant_id").strip().removeprefix("sub-")
        parsed = {}
        for key, value in row.items():
            value = (value or "").strip()
            try:
                parsed[key] = float(value) if value not in ("", "n/a", "NA") else None
            except ValueError:
                parsed[key] = value
        table[sid] = parsed
    return table


def _strip_nii(name: str) -> str | None:
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return None


def load_cohort_folder(root: str | Path) -> Cohort:
    """Discover ``sub-*/ses-*/<NAME>.nii[.gz]`` below ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise InputFileError("cohort folder not found", root)
    info = _read_participants(root / "participants.tsv")
    subjects: dict[str, Subject] = {}
    for sub_dir in sorted(root.glob("sub-*")):
        if not sub_dir.is_dir():
            continue
        sid = sub_dir.name.removeprefix("sub-")
        subject = Subject(sid, info=info.get(sid, {}))
        for ses_dir in sorted(sub_dir.glob("ses-*")):
            session = Session(sid, ses_dir.name.removeprefix("ses-"))
            for f in sorted(ses_dir.iterdir()):
                stem = _strip_nii(f.name)
                if stem is None:
                    continue
                session.files[canonical_name(stem, f)] = f
            if session.files:
                subject.sessions[session.name] = session
        if subject.sessions:
            subjects[sid] = subject
    if not subjects:
        raise CohortError("no sub-*/ses-*/*.nii.gz images found", root)
    return Cohort(subjects, root)


def load_bids(root: str | Path) -> Cohort:
    """A BIDS dataset (``data_tools.io.bids``) as a cohort; ``participants.tsv`` as usual."""
    root = Path(root)
    info = _read_participants(root / "participants.tsv")
    subjects: dict[str, Subject] = {}
    for key, files in bids_files(root).items():
        subject = subjects.setdefault(key.subject, Subject(key.subject, info=info.get(key.subject, {})))
        name = key.session or NO_SESSION
        if name in subject.sessions:
            raise CohortError(f"subject {key.subject} has a session {name} and files without ses-", root)
        subject.sessions[name] = Session(key.subject, name, dict(files), bids=key)
    return Cohort(subjects, root)


def load_manifest(manifest: str | Path, root: str | Path | None = None,
                  participants: str | Path | None = None) -> Cohort:
    """Read a ``subject,session,name,path`` CSV; paths relative to ``root`` or the CSV."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise InputFileError("manifest not found", manifest)
    base = Path(root) if root is not None else manifest.parent
    with manifest.open(newline="", encoding="utf-8-sig") as fh:  # spreadsheets add a BOM
        reader = csv.DictReader(line for line in fh if not line.lstrip().startswith("#"))
        missing = {"subject", "session", "name", "path"} - set(reader.fieldnames or [])
        if missing:
            raise CohortError(f"manifest lacks column(s) {', '.join(sorted(missing))}", manifest)
        rows = list(reader)
    if participants is None:
        for candidate in (base / "participants.tsv", manifest.parent / "participants.tsv"):
            if candidate.exists():
                participants = candidate
                break
    info = _read_participants(Path(participants)) if participants else {}
    subjects: dict[str, Subject] = {}
    for line_no, row in enumerate(rows, start=2):
        sid = row["subject"].strip().removeprefix("sub-")
        ses = row["session"].strip().removeprefix("ses-") or "t0"
        where = f"{manifest}:{line_no}"
        name = canonical_name(row["name"], where)
        path = Path(row["path"].strip())
        path = path if path.is_absolute() else base / path
        subject = subjects.setdefault(sid, Subject(sid, info=info.get(sid, {})))
        session = subject.sessions.setdefault(ses, Session(sid, ses))
        if name in session.files:
            raise CohortError(f"duplicate row for subject {sid} session {ses} name {name}", where)
        session.files[name] = path
    if not subjects:
        raise CohortError("manifest lists no images", manifest)
    return Cohort(subjects, manifest)


def open_cohort(cohort: str | Path | None = None, manifest: str | Path | None = None,
                root: str | Path | None = None) -> Cohort:
    """The one entry point behind ``--cohort DIR | --manifest CSV [--root DIR]``; a
    ``DIR`` that is a BIDS dataset is read as one (:func:`load_bids`)."""
    if (cohort is None) == (manifest is None):
        raise CohortError("give exactly one of a cohort folder or a manifest CSV")
    if cohort is not None:
        if is_bids_dataset(cohort):
            return load_bids(cohort)
        return load_cohort_folder(cohort)
    return load_manifest(manifest, root)
