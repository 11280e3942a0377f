"""``msgan models``: list the networks that ``msgan.models.build`` knows, with parameter counts,
or (``--shipped``) the trained models that ``msgan predict --model`` runs (shipped inside the
package, or in ``--model-dir`` / ``$MSGAN_MODELS``)."""
from __future__ import annotations

import click


@click.command("models")
@click.option("--inputs", "n_inputs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Number of input channels (MRI sequences) to count parameters for.")
@click.option("--shipped", is_flag=True, help="List the trained models that ship instead "
              "(msgan predict --model NAME), with those of --model-dir and $MSGAN_MODELS.")
@click.option("--model-dir", type=click.Path(), help="Also list the SavedModels of this folder "
              "(<name>/<version>/, msgan export); implies --shipped.")
def models_command(n_inputs, shipped, model_dir):
    """List model names, their kind and parameter count at default widths."""
    if shipped or model_dir:
        from msgan.inference.shipped import SHIPPED_DIR, describe

        for row in describe(model_dir=model_dir):
            where = "" if row["path"].parent.parent == SHIPPED_DIR else f" [{row['path']}]"
            click.echo(f"{row['name']} (version {row['version']}){where}: {','.join(row['inputs'])} -> "
                       f"{row['target']}, {row['task']} task. {row['note'] or ''}")
        return
    from msgan.models import model_table

    rows = model_table(n_inputs)
    width = max(len(row["name"]) for row in rows)
    click.echo(f"{'name':<{width}}  {'kind':<13}  {'parameters':>11}  description")
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {row['kind']:<13}  {row['parameters']:>11,}  "
                   f"{row['description']}")
