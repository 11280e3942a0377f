"""``msgan saliency``: a thin wrapper over :func:`msgan.saliency.session.saliency_for_session`."""
from __future__ import annotations

import click


@click.command("saliency")
@click.option("--run", "run_dir", required=True, type=click.Path(), help="Run folder of msgan train.")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-<id>/ses-<name>/<NAME>.nii.gz.")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path.")
@click.option("--root", type=click.Path(), help="Folder the manifest's relative paths start from.")
@click.option("--subject", required=True, help="The subject whose maps to compute.")
@click.option("--session", help="Session (default: the subject's first).")
@click.option("--out", required=True, type=click.Path(), help="Output folder for NIfTI maps, PNGs, ranking.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def saliency_command(run_dir, cohort, manifest, root, subject, session, out, overwrite):
    """Saliency maps of one subject: P3S per input sequence (eq 2.3), visual attention (eq 3.7)."""
    from data_tools.io.cohort import open_cohort
    from data_tools.io.guard import check_outputs
    from msgan.saliency.session import saliency_for_session

    data = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--out": out}, {"--cohort": data, "--run": run_dir})
    ranking = saliency_for_session(run_dir, data,
                                   subject, out, session=session, overwrite=overwrite)
    click.echo("mean P3S inside the brain (most salient first):")
    for rank, (name, value) in enumerate(ranking, start=1):
        click.echo(f"  {rank}. {name:8s} {value:.4g}")
    click.echo(f"maps, figures and p3s_ranking.csv in {out}")
