"""``msgan synthesize``: a thin wrapper over :mod:`msgan.inference.synthesize`."""
from __future__ import annotations

import click

from data_tools.contracts import BRAIN_EXTRACTORS, OUTPUT_SPACES
from data_tools.errors import ConfigError
from data_tools.preprocessing.registration import REGISTRATION_MODELS


def _named_inputs(values) -> dict[str, str]:
    inputs = {}
    for text in values:
        name, sep, path = text.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError(f"--input must be NAME=PATH (e.g. T1=t1.nii.gz), got {text!r}")
        if name.strip() in inputs:
            raise ConfigError(f"--input {name.strip()} given twice")
        inputs[name.strip()] = path.strip()
    return inputs


@click.command("synthesize")
@click.option("--model", required=True, help="A shipped model's name (e.g. flair-t1-t2) or a SavedModel folder.")
@click.option("--input", "inputs", multiple=True, metavar="NAME=PATH",
              help="A raw input scan, repeated (e.g. --input T1=t1.nii.gz --input T2=t2.nii.gz).")
@click.option("--out", type=click.Path(), help="The synthetic image (.nii.gz).")
@click.option("--bids", type=click.Path(), help="A BIDS dataset: every session with the model's inputs.")
@click.option("--bids-out", type=click.Path(), help="With --bids: write DIR/derivatives/msgan.")
@click.option("--participant-label", "labels", multiple=True, help="With --bids: only these subjects (repeat).")
@click.option("--reference", help="The input the others are registered onto and whose grid the output "
              "takes [the first --input].")
@click.option("--space", type=click.Choice(OUTPUT_SPACES), default="native", show_default=True,
              help="native: the reference input's grid, affine and header; model: the model's grid.")
@click.option("--registration", type=click.Choice(REGISTRATION_MODELS), default="rigid", show_default=True,
              help="Model of the registration of each input onto the reference (one head, one session).")
@click.option("--brain-extractor", type=click.Choice(BRAIN_EXTRACTORS), default="auto", show_default=True,
              help="auto: HD-BET if installed (pip install 'msgan[hdbet]'), else deepbrain.")
@click.option("--qc", type=click.Path(), help="Draw the inputs, brain outline and output to this PNG.")
@click.option("--keep-intermediate", type=click.Path(), help="Keep transforms, masks and model-grid images here.")
@click.option("--force", is_flag=True, help="Go on when the brain mask's volume is implausible (0.8-2.2 L).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def synthesize_command(model, inputs, out, bids, bids_out, labels, reference, space, registration, brain_extractor, qc,
                       keep_intermediate, force, overwrite, progress):
    """Raw scans in, the missing image out in the scan's own space."""
    if bids is not None:
        from msgan.inference.synthesize_bids import synthesize_bids

        if inputs or out or qc or keep_intermediate or space != "native":
            raise ConfigError("--bids takes --bids-out (not --input, --out, --qc, --keep-intermediate, --space)")
        if bids_out is None:
            raise ConfigError("--bids needs --bids-out")
        written = synthesize_bids(model, bids, bids_out, list(labels) or None, reference, brain_extractor,
                                  registration, force=force, overwrite=overwrite, progress=progress)
        click.echo(f"wrote {len(written)} file(s) under {bids_out}")
        return
    from msgan.inference.synthesize import synthesize

    if not inputs or out is None:
        raise ConfigError("give --input NAME=PATH (repeated) and --out, or --bids and --bids-out")
    result = synthesize(model, _named_inputs(inputs), out, reference=reference, space=space,
                        extractor=brain_extractor, registration=registration, qc=qc, keep_intermediate=keep_intermediate, force=force,
                        overwrite=overwrite, progress=progress)
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    click.echo(f"wrote {out} (brain extraction: {result.session.brain_extractor}; {steps})")
