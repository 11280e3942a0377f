"""``msgan preprocess``: raw scans -> co-registered, bias-corrected cohort folder."""
from __future__ import annotations

import click

from data_tools.preprocessing.registration import REGISTRATION_MODELS


def _parse_crop(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected three integers D,H,W, e.g. 128,160,128") from None
    if len(sizes) != 3 or min(sizes) < 1:
        raise click.BadParameter("expected three positive integers D,H,W, e.g. 128,160,128")
    return sizes


@click.command("preprocess")
@click.option("--manifest", type=click.Path(dir_okay=False), help="CSV subject,session,name,path.")
@click.option("--root", type=click.Path(file_okay=False), help="Folder the manifest paths are relative to.")
@click.option("--cohort", type=click.Path(file_okay=False), help="Cohort folder sub-*/ses-*/NAME.nii.gz.")
@click.option("--out", required=True, type=click.Path(), help="Output cohort folder.")
@click.option("--reference", default="FLAIR", show_default=True,
              help="Sequence every other sequence is registered onto (PIB for the myelin task).")
@click.option("--n4/--no-n4", default=True, show_default=True, help="N4 bias-field correction.")
@click.option("--n4-shrink", default=4, show_default=True, type=click.IntRange(1, 16),
              help="N4 fits the field on an image shrunk by this factor.")
@click.option("--n4-iterations", default="50,50,30", show_default=True,
              help="N4 iterations per fitting level.")
@click.option("--brain-mask", default="auto", show_default=True,
              help="auto (the session's own brainmask; else none if the reference is brain-extracted, "
                   "else deepbrain), hdbet (HD-BET on the reference; pip install 'msgan[hdbet]'), "
                   "deepbrain (network on the T1), template (nilearn MNI152), none, "
                   "or a mask file.")
@click.option("--masks-on", default=None, help="Sequence the session's masks were drawn on [reference].")
@click.option("--model", type=click.Choice(REGISTRATION_MODELS), default="affine", show_default=True,
              help="Intra-session registration model (follow-ups are always aligned rigidly).")
@click.option("--min-mutual-information", type=float, default=0.1, show_default=True,
              help="A registration ending with less mutual information is an error (lower it for PET).")
@click.option("--crop", callback=_parse_crop, default=None, help="Crop to D,H,W voxels around the brain.")
@click.option("--voxel-size", type=click.FloatRange(min=0, min_open=True), default=None, help="Resample to isotropic voxels of this size (mm).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def preprocess(manifest, root, cohort, out, reference, n4, n4_shrink, n4_iterations, brain_mask, masks_on,
               model, min_mutual_information, crop, voxel_size, overwrite):
    """Bias-correct, co-register, align follow-ups, mask and crop raw scans into a cohort folder."""
    from data_tools.errors import ConfigError
    from data_tools.io.cohort import canonical_name, open_cohort
    from data_tools.io.guard import check_outputs
    from data_tools.preprocessing.preprocess import PreprocessOptions, preprocess_cohort
    from data_tools.preprocessing.registration import RegistrationSettings

    try:
        iterations = tuple(int(v) for v in n4_iterations.split(","))
    except ValueError:
        raise ConfigError(f"--n4-iterations expects integers like 50,50,30, got {n4_iterations!r}") from None
    options = PreprocessOptions(
        reference=canonical_name(reference), n4=n4, n4_shrink=n4_shrink, n4_iterations=iterations,
        brain_mask=brain_mask, crop=crop, voxel_size=voxel_size,
        masks_on=canonical_name(masks_on) if masks_on else None, model=model,
        registration=RegistrationSettings(min_mutual_information=min_mutual_information))
    data = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--out": out}, {"--cohort": data})
    written = preprocess_cohort(data, out, options, overwrite=overwrite)
    click.echo(f"wrote {written} ({sum(len(s.sessions) for s in data.subjects.values())} sessions; "
               f"transforms/ and qc/ inside)")
