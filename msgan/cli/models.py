"""``msgan models``: list the networks that ``msgan.models.build`` knows, with parameter counts."""
from __future__ import annotations

import click


@click.command("models")
@click.option("--inputs", "n_inputs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Number of input channels (MRI sequences) to count parameters for.")
def models_command(n_inputs):
    """List model names, their kind and parameter count at default widths."""
    from msgan.models import model_table

    rows = model_table(n_inputs)
    width = max(len(row["name"]) for row in rows)
    click.echo(f"{'name':<{width}}  {'kind':<13}  {'parameters':>11}  description")
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {row['kind']:<13}  {row['parameters']:>11,}  "
                   f"{row['description']}")
