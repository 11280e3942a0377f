"""The simulated MS cohort: ``simulate_cohort`` writes patients and controls with known truth.

No public [11C]PIB PET data exists, so this is msgan's built-in dataset. Per subject it
warps the MNI152 2009 tissue maps (:mod:`.simulation.anatomy`), gives patients
white-matter lesions with a myelin-loss map (:mod:`.simulation.lesions`), and turns the
tissue state into the MRI of chapter 2 (:mod:`.simulation.mri`) and the MTR, DTI and PIB
DVR of chapters 3-4 (:mod:`.simulation.myelin_imaging`). Patients get a follow-up visit
in which lesional voxels de- and remyelinate at their own rates; ``participants.tsv``
links the remyelination rate to EDSS (:mod:`.simulation.clinical`).

Layout (DESIGN.md): ``sub-<id>/ses-<t0|t1>/<NAME>.nii.gz``, ``participants.tsv`` and
``simulation.json`` (the parameters). Truth maps: ``myelin`` (float, 1 = normal WM) and
``demyelinated`` (0/1, lesional voxels whose myelin loss exceeds 0.5).
"""
from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from data_tools.errors import ConfigError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.nifti import save_new
from data_tools.simulation import clinical, lesions as lesion_model, mri, myelin_imaging, tissue
from data_tools.simulation.anatomy import check_resolution, simulate_anatomy
from data_tools.simulation.fields import smooth_random_field
from data_tools.simulation.randomize import RandomizeOptions, randomize_inputs

SESSIONS = ("t0", "t1")
MYELIN_IMAGE_NAMES = ("MTR", "FA", "RD", "AD", "PIB")
MASK_NAMES = ("brainmask", "lesions", "wm", "gm", "csf")
TRUTH_NAMES = ("myelin", "demyelinated")
#: spawn key of each subject's randomisation stream (beyond any child ``spawn`` would make)
RANDOMIZE_STREAM = 2**31 - 1


@dataclass(frozen=True)
class SimulationOptions:
    """Knobs of the simulation besides cohort size, resolution and seed."""

    noise: float = 0.02            # Rician SD, fraction of the brightest tissue's MR signal
    bias: float = 0.10             # SD of the log bias field (about +/-10 % intensity)
    deformation_mm: float = 3.0    # SD of each displacement component
    scale_sd: float = 0.04         # SD of the global brain scale factor
    n_lesions: tuple[int, int] = (5, 40)
    lesion_diameter_mm: tuple[float, float] = (3.0, 15.0)
    mtr_noise_pu: float = 1.0
    dti_noise: float = 0.03        # um^2/ms, at the DTI's 2 mm
    pet_noise: float = 0.06        # DVR units, spatially correlated at the PET resolution
    pet_subject_sd: float = 0.04   # between-subject DVR scale SD
    edss_independent: bool = False  # EDSS unrelated to myelin (negative control of Table 4.3)
    randomize: RandomizeOptions | None = None  # domain-randomised inputs (FLAIR target unchanged)

    def validate(self) -> None:
        if self.noise < 0 or self.bias < 0 or self.deformation_mm < 0:
            raise ConfigError("noise, bias and deformation must not be negative")
        lo, hi = self.n_lesions
        if not 1 <= lo <= hi:
            raise ConfigError(f"lesion count range must satisfy 1 <= min <= max, got {lo}-{hi}")
        dlo, dhi = self.lesion_diameter_mm
        if not 0 < dlo <= dhi:
            raise ConfigError(f"lesion diameters must satisfy 0 < min <= max, got {dlo}-{dhi}")
        if self.randomize is not None:
            self.randomize.validate()


def simulate_session(rng: np.random.Generator, anatomy, lesions, *, coherence: np.ndarray,
                     pib_scale: float, options: SimulationOptions,
                     randomize_rng: np.random.Generator | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Every image, mask and truth map of one visit, from the tissue state (fresh noise), and
    the randomisation's draws ({} without ``options.randomize``).

    The randomised inputs replace the physical ones and draw only from ``randomize_rng``, so
    ``rng`` (hence every other image, the FLAIR target included) runs as without them.
    """
    oedema, gadolinium = lesion_model.activity(rng, lesions, tissue.GD_LESION_CONCENTRATION_MM)
    sigma = options.noise * mri.SIGNAL_SCALE
    out: dict[str, np.ndarray] = {}
    inside = anatomy.brain
    for name in mri.MRI_NAMES:
        clean = mri.noise_free_image(name, anatomy, lesions.loss, lesions.mask, oedema,
                                     gadolinium if name == "T1POST" else None)
        bias = np.exp(options.bias * smooth_random_field(rng, anatomy.shape, anatomy.voxel_mm, 60.0)[0])
        image = np.zeros(anatomy.shape, np.float32)  # brain-extracted, as after preprocessing
        image[inside] = mri.add_rician_noise(rng, clean[inside] * bias[inside], sigma)
        out[name] = image

    myelin = myelin_imaging.myelin_content(anatomy, lesions)
    out["MTR"] = myelin_imaging.mtr_map(rng, anatomy, lesions, oedema, options.mtr_noise_pu)
    out.update(myelin_imaging.dti_maps(rng, anatomy, lesions, oedema, coherence, options.dti_noise))
    dvr = myelin_imaging.pib_dvr(myelin, anatomy, pib_scale)
    out["PIB"] = myelin_imaging.pet_image(rng, dvr, anatomy, options.pet_noise)

    out.update(brainmask=anatomy.brain, lesions=lesions.mask, wm=anatomy.wm, gm=anatomy.gm,
               csf=anatomy.csf, myelin=np.where(anatomy.brain, myelin, 0.0).astype(np.float32),
               demyelinated=lesions.demyelinated)
    draws = {}
    if options.randomize is not None:
        if randomize_rng is None:
            raise ValueError("options.randomize needs randomize_rng, a stream of its own")
        randomized, draws = randomize_inputs(randomize_rng, anatomy, lesions, oedema, gadolinium,
                                             options.randomize)
        out.update(randomized)
    return out, draws


def _write_session(folder: Path, volumes: dict[str, np.ndarray], affine: np.ndarray) -> None:
    """Masks as uint8, MR images as int16 scanner units (as scanners write them), maps as float32.

    Integer MR images also compress several times faster than noisy float32, which is
    most of the write time of a 1 mm cohort.
    """
    for name, data in volumes.items():
        if data.dtype == bool:
            dtype = np.uint8
        elif name in mri.MRI_NAMES:
            data = np.clip(np.rint(data), 0, np.iinfo(np.int16).max)
            dtype = np.int16
        else:
            dtype = np.float32
        save_new(data, affine, folder / f"{name}.nii.gz", dtype=dtype)


def simulate_subject(root: Path, participant: clinical.Participant, resolution: float,
                     seed: np.random.SeedSequence, sessions: Sequence[str],
                     options: SimulationOptions) -> dict:
    """Simulate and write one subject's sessions below ``root``; returns its lesion summary."""
    rng = np.random.default_rng(seed)
    anatomy = simulate_anatomy(rng, resolution, deformation_mm=options.deformation_mm,
                               scale_sd=options.scale_sd)
    coherence = smooth_random_field(rng, anatomy.shape, anatomy.voxel_mm, 8.0)[0]
    pib_scale = float(1.0 + options.pet_subject_sd * rng.standard_normal())
    is_patient = participant.group == "MS"
    if is_patient:
        state = lesion_model.place_lesions(rng, anatomy, n_range=options.n_lesions,
                                           diameter_mm=options.lesion_diameter_mm)
    else:
        state = lesion_model.empty_state(anatomy.shape)
    visits = list(sessions) if is_patient else ["t0"]  # controls were scanned once (sec. 4.2.4)
    baseline = state
    # The randomisation's own stream, a child of the subject's seed no other draw uses.
    randomize_rng = np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, RANDOMIZE_STREAM)))
    randomization = {}
    for visit in visits:
        if visit == "t1":
            state = lesion_model.evolve(rng, baseline, participant.demyelination_rate,
                                        participant.remyelination_rate)
        volumes, draws = simulate_session(rng, anatomy, state, coherence=coherence, pib_scale=pib_scale,
                                          options=options, randomize_rng=randomize_rng)
        if draws:
            randomization[visit] = {"n_lesions": state.n_lesions,
                                    "lesion_load_ml": round(float(state.mask.sum() * resolution ** 3 / 1000.0), 4),
                                    "sequences": draws}
        _write_session(root / f"sub-{participant.id}" / f"ses-{visit}", volumes, anatomy.affine)
    return {"id": participant.id,
            "lesion_load_ml": float(baseline.mask.sum() * resolution ** 3 / 1000.0),
            "n_lesions": baseline.n_lesions, "randomization": randomization}


def _check_sessions(sessions: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(sessions, str):
        sessions = [s for s in sessions.split(",")]
    sessions = tuple(s.strip().removeprefix("ses-") for s in sessions if s.strip())
    unknown = [s for s in sessions if s not in SESSIONS]
    if unknown or "t0" not in sessions or len(set(sessions)) != len(sessions):
        raise ConfigError(f"sessions must be t0 or t0,t1 (got {','.join(sessions) or 'none'}); "
                          "t1 is the follow-up of t0")
    return tuple(s for s in SESSIONS if s in sessions)


def _cohort_seeds(seed: int, n_subjects: int) -> list[np.random.SeedSequence]:
    """Participants' table, then one per subject, then the independent EDSS draw."""
    return np.random.SeedSequence(seed).spawn(2 + n_subjects)


def draw_cohort_participants(n_ms: int, n_hc: int, seed: int = 0, edss_independent: bool = False
                             ) -> list[clinical.Participant]:
    """The participants (ages, sexes, rates, EDSS) ``simulate_cohort`` draws for this seed.

    ``edss_independent``: EDSS from an independent draw of the remyelination rate; every
    other value is the same as without it (so are the images).
    """
    seeds = _cohort_seeds(seed, n_ms + n_hc)
    independent = np.random.default_rng(seeds[-1]) if edss_independent else None
    return clinical.draw_participants(np.random.default_rng(seeds[0]), n_ms, n_hc, independent)


def simulate_cohort(out: str | Path, n_ms: int = 18, n_hc: int = 10, resolution: float = 1.0,
                    seed: int = 0, sessions: Sequence[str] | str = SESSIONS, overwrite: bool = False,
                    options: SimulationOptions | None = None, jobs: int = 1,
                    progress: bool = True) -> Path:
    """Write a simulated cohort folder ``out`` (atomically) and return its path.

    ``n_ms`` patients (``sub-ms01``...) get lesions and, with ``t1`` in ``sessions``, a
    follow-up visit; ``n_hc`` controls (``sub-hc01``...) get ``t0`` only;
    ``options.edss_independent`` draws EDSS unrelated to myelin. The same ``seed``
    gives identical files whatever ``jobs`` (subjects simulated in parallel processes).
    """
    options = options or SimulationOptions()
    options.validate()
    sessions = _check_sessions(sessions)
    if n_ms < 0 or n_hc < 0 or n_ms + n_hc == 0:
        raise ConfigError(f"need at least one subject (got {n_ms} patients, {n_hc} controls)")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    resolution = check_resolution(resolution)

    seeds = _cohort_seeds(seed, n_ms + n_hc)[:1 + n_ms + n_hc]
    people = draw_cohort_participants(n_ms, n_hc, seed, options.edss_independent)
    out = Path(out)
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        summaries = []
        bar = tqdm(total=len(people), desc="simulating subjects", unit="subject", disable=not progress)
        if jobs == 1:
            for person, ss in zip(people, seeds[1:]):
                summaries.append(simulate_subject(tmp, person, resolution, ss, sessions, options))
                bar.update()
        else:
            # "spawn": forking a parent that has started TensorFlow's threads can deadlock.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(jobs, len(people)), mp_context=context) as pool:
                futures = [pool.submit(simulate_subject, tmp, person, resolution, ss, sessions, options)
                           for person, ss in zip(people, seeds[1:])]
                for future in as_completed(futures):
                    summaries.append(future.result())
                    bar.update()
        bar.close()
        load = {s["id"]: s["lesion_load_ml"] for s in summaries}
        counts = {s["id"]: s["n_lesions"] for s in summaries}
        (tmp / "participants.tsv").write_text(clinical.participants_tsv(people, load, counts))
        description = {
            "simulated": True,
            "note": "Simulated data (msgan data_tools.simulation.cohort), not patient images.",
            "seed": seed, "resolution_mm": resolution, "n_ms": n_ms, "n_hc": n_hc,
            "sessions": list(sessions), "options": asdict(options),
            "flair_ti_ms": round(mri.PROTOCOL.flair_ti, 1),
            "dir_ti_ms": [round(t, 1) for t in mri.PROTOCOL.dir_tis],
            "demyelinated_loss_threshold": lesion_model.DEMYELINATED_LOSS,
        }
        if options.randomize is not None:  # per subject and session, in participants' order
            drawn = {s["id"]: s["randomization"] for s in summaries}
            description["randomization"] = {f"sub-{p.id}": drawn[p.id] for p in people}
        (tmp / "simulation.json").write_text(json.dumps(description, indent=2) + "\n")
    return out


def default_jobs() -> int:
    """Worker processes to use by default: the machine's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))
