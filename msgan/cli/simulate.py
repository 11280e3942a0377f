"""``msgan simulate``: write the simulated MS cohort (a thin shell over data_tools.simulation.cohort)."""
from __future__ import annotations

import click

from data_tools.errors import ConfigError


def _int_pair(text: str, option: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise ConfigError(f"{option} expects MIN-MAX (e.g. 5-40), got {text!r}") from None
    return lo, hi


@click.command("simulate")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Cohort folder to write (sub-*/ses-*/NAME.nii.gz, participants.tsv).")
@click.option("--n-ms", default=18, show_default=True, type=click.IntRange(min=0), help="MS patients.")
@click.option("--n-hc", default=10, show_default=True, type=click.IntRange(min=0), help="Healthy controls.")
@click.option("--resolution", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Voxel size in mm (1 for the full cohort, 2 for demos and tests).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0, max=2**32 - 1), help="Same seed, identical files.")
@click.option("--sessions", default="t0,t1", show_default=True,
              help="t0 or t0,t1 (follow-up for patients; controls have t0 only).")
@click.option("--lesions", "lesion_range", default="5-40", show_default=True,
              help="Range of the number of lesions per patient, MIN-MAX.")
@click.option("--noise", default=0.02, show_default=True, type=click.FloatRange(min=0),
              help="Rician noise SD of the MR images, as a fraction of the brightest tissue.")
@click.option("--bias", default=0.10, show_default=True, type=click.FloatRange(min=0),
              help="SD of the log intensity bias field of the MR images.")
@click.option("--edss-independent", is_flag=True,
              help="Draw EDSS independently of myelin (negative control: Table 4.3 must find nothing).")
@click.option("--randomize", is_flag=True,
              help="Domain-randomised inputs: per session and sequence, random tissue intensities, bias "
              "field, slice thickness (1-6 mm, random axis) and noise; FLAIR stays physical (docs/travel.md).")
@click.option("--jobs", default=None, type=click.IntRange(min=1),
              help="Subjects simulated in parallel (default: CPU cores, at most 4).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def simulate(out, n_ms, n_hc, resolution, seed, sessions, lesion_range, noise, bias, edss_independent, randomize, jobs,
             overwrite):
    """Write a simulated cohort of MS patients and healthy controls with known myelin truth.

    The data are SIMULATED (MNI152 anatomy, synthetic lesions, signal equations): use them
    to try msgan and to check that it recovers a known truth, not as clinical data.
    """
    from data_tools.simulation.cohort import SimulationOptions, default_jobs, simulate_cohort
    from data_tools.simulation.randomize import RandomizeOptions

    options = SimulationOptions(noise=noise, bias=bias, n_lesions=_int_pair(lesion_range, "--lesions"),
                                edss_independent=edss_independent,
                                randomize=RandomizeOptions() if randomize else None)
    path = simulate_cohort(out, n_ms=n_ms, n_hc=n_hc, resolution=resolution, seed=seed,
                           sessions=sessions, overwrite=overwrite, options=options,
                           jobs=jobs or default_jobs())
    click.echo(f"wrote simulated cohort ({n_ms} MS, {n_hc} HC, {resolution:g} mm) to {path}")
