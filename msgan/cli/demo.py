"""``msgan demo``: a thin wrapper over :func:`msgan.experiments.demo.run_demo`."""
from __future__ import annotations

import click


@click.command("demo")
@click.option("--out", default="demo_output", show_default=True, type=click.Path(),
              help="Folder for the cohort, shards, runs, predictions, evaluation and report.md.")
@click.option("--quick", is_flag=True, help="5 mm voxels, fewer subjects and steps, a one-stage GAN: a few minutes.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def demo_command(out, quick, overwrite):
    """Simulate a cohort, train, predict, evaluate and explain: the whole system in one run."""
    from msgan.experiments.demo import run_demo

    report = run_demo(out, quick=quick, overwrite=overwrite, echo=click.echo)
    click.echo(f"report: {report}")
