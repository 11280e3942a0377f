"""``msgan reproduce``: a thin wrapper over :func:`msgan.experiments.reproduce.reproduce`."""
from __future__ import annotations

import click

from data_tools.contracts import PRECISIONS, THRESHOLD_SPACES
from msgan.experiments.reproduce import CHAPTERS


@click.command("reproduce")
@click.argument("chapter", type=click.Choice(tuple(CHAPTERS)))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for the cohort, shards, runs, predictions, evaluation and report.md.")
@click.option("--cohort", type=click.Path(exists=True, file_okay=False),
              help="A cohort folder to run on (default: simulate the chapter's cohort into OUT/cohort).")
@click.option("--check", is_flag=True, help="Toy size: every step runs, the numbers mean nothing.")
@click.option("--methods", help="Comma-separated configurations to run (default: all; the names are in "
              "the chapter's report and the README); the other cells of the report read n/a.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="float32", show_default=True,
              help="Compute precision of every training and prediction (docs/performance.md).")
@click.option("--jit-compile", is_flag=True, help="XLA-compile every training step and prediction (GPUs).")
@click.option("--threshold-space", type=click.Choice(list(THRESHOLD_SPACES)), default="mni", show_default=True,
              help="Where ch. 3-4 measure the distance to CSF of the demyelination thresholds: mni, the thesis's "
                   "(needs SimpleITK); native, each subject's own space (no registration).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def reproduce_command(chapter, out, cohort, check, methods, precision, jit_compile, threshold_space, overwrite,
                      quiet):
    """Run one thesis chapter's protocol and write one report of its tables and figures."""
    from data_tools.io.cohort import open_cohort
    from data_tools.io.guard import check_outputs
    from msgan.experiments.reproduce import reproduce

    check_outputs({"--out": out}, {"--cohort": cohort and open_cohort(cohort=cohort)})
    chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    report = reproduce(chapter, out, cohort=cohort, check=check, methods=chosen, overwrite=overwrite,
                       progress=not quiet, echo=click.echo, precision=precision, jit_compile=jit_compile,
                       threshold_space=threshold_space)
    click.echo(f"report: {report}")
