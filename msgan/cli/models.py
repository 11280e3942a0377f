"""``msgan models``: list the networks that ``msgan.models.build`` knows, with parameter counts,
or (``--shipped``) the trained models in ``saved_models/`` that ``msgan predict --model`` runs."""
from __future__ import annotations

import click


@click.command("models")
@click.option("--inputs", "n_inputs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Number of input channels (MRI sequences) to count parameters for.")
@click.option("--shipped", is_flag=True, help="List the trained models that ship instead "
              "(msgan predict --model NAME).")
def models_command(n_inputs, shipped):
    """List model names, their kind and parameter count at default widths."""
    if shipped:
        from msgan.inference.shipped import describe

        for row in describe():
            click.echo(f"{row['name']} (version {row['version']}): {','.join(row['inputs'])} -> {row['target']}, "
                       f"{row['task']} task. {row['note']}")
        return
    from msgan.models import model_table

    rows = model_table(n_inputs)
    width = max(len(row["name"]) for row in rows)
    click.echo(f"{'name':<{width}}  {'kind':<13}  {'parameters':>11}  description")
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {row['kind']:<13}  {row['parameters']:>11,}  "
                   f"{row['description']}")
