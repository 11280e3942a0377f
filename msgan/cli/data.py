"""Data commands: ``msgan make-tfrecords`` (cohort -> normalised TFRecord shards)."""
from __future__ import annotations

import click

from data_tools.contracts import DEFAULT_CROP, DEFAULT_OVERLAP, DEFAULT_PATCH, LAYOUTS, TASK_NAMES
from data_tools.shards.normalize import NORMALIZE_CHOICES
from msgan.training.presets import RECIPES


@click.command("make-tfrecords")
@click.option("--cohort", type=click.Path(), help="Cohort folder sub-*/ses-*/<NAME>.nii.gz.")
@click.option("--manifest", type=click.Path(), help="Manifest CSV subject,session,name,path.")
@click.option("--root", type=click.Path(), help="Folder the manifest's paths are relative to.")
@click.option("--task", type=click.Choice(TASK_NAMES), required=True)
@click.option("--inputs", help="Input sequences in channel order, e.g. T1,T1POST,T2 "
                               "(default: flair -> every FLAIR-task input present; myelin -> MTR,FA,RD,AD).")
@click.option("--target", help="Target image (default: FLAIR for flair, PIB for myelin).")
@click.option("--out", type=click.Path(), required=True, help="Output shard folder.")
@click.option("--preset", type=click.Choice(list(RECIPES)), help="Shard settings of a named training "
              "recipe (real-flair: --normalize subject-all --patch 32 --min-brain 0.25 --lesion-copies 3); "
              "options given explicitly win.")
@click.option("--layout", type=click.Choice(LAYOUTS), help="whole volumes (ch. 2), a crop around the "
              "brain (ch. 3) or grid patches (ch. 4, the default).")
@click.option("--crop", help=f"Crop size D,H,W (--layout crop; default {','.join(map(str, DEFAULT_CROP))}).")
@click.option("--patch", help=f"Patch size: N or D,H,W (--layout patches; default {DEFAULT_PATCH[0]}).")
@click.option("--overlap", type=click.FloatRange(0, 1, max_open=True), help=f"Fraction of overlap between neighbouring patches "
              f"(default {DEFAULT_OVERLAP}).")
@click.option("--augment", is_flag=True, help="Add rotations 90/180/270 and zooms 1.25/0.75 (sec. 4.3.1).")
@click.option("--min-brain", type=click.FloatRange(0, 1), help="Keep only patches with at least this "
              "fraction of brain voxels (--layout patches; default 0: any brain voxel).")
@click.option("--lesion-copies", type=click.IntRange(min=1), help="Write every example holding lesion "
              "voxels this many times (weights sampling toward lesions; default 1).")
@click.option("--normalize", type=click.Choice(list(NORMALIZE_CHOICES)),
              help="global (the default): all voxels of all images (thesis); global-brain: brain voxels; "
                   "subject: each input image by its own brain statistics (target stays global); "
                   "subject-all: inputs and target each by their own brain statistics, predictions "
                   "written on the training target's pooled scale (multi-scanner FLAIR).")
@click.option("--shard-size", type=click.IntRange(min=1), help="Examples per shard (default 32).")
@click.option("--compress", is_flag=True, help="GZIP the shards (smaller, slower to read).")
@click.option("--session", help="Only this session (e.g. t0); default every session.")
@click.option("--subjects", help="Only these subject ids, comma-separated.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
def make_tfrecords(cohort, manifest, root, task, inputs, target, out, preset, layout, crop, patch, overlap,
                   augment, min_brain, lesion_copies, normalize, shard_size, compress, session, subjects, overwrite):
    """Validate, normalise and write a cohort as TFRecord shards for training."""
    from data_tools.contracts import ShardSpec
    from data_tools.io.cohort import open_cohort
    from data_tools.io.guard import check_outputs
    from data_tools.shards.dataset import build_shards

    from msgan.training.presets import recipe_settings

    spec = ShardSpec(task, inputs=inputs, target=target, augment=augment, compression="GZIP" if compress else "",
                     session=session, subjects=subjects.split(",") if subjects else None).merged(
        recipe_settings(preset)["shards"],  # a preset's shard settings, the options given winning
        {"layout": layout, "crop": crop, "patch": patch, "overlap": overlap, "min_brain": min_brain,
         "lesion_copies": lesion_copies, "normalize": normalize, "shard_size": shard_size})
    cohort_obj = open_cohort(cohort=cohort, manifest=manifest, root=root)
    check_outputs({"--out": out}, {"--cohort": cohort_obj})
    index = build_shards(cohort_obj, spec, out, overwrite=overwrite)
    size_mb = sum(s["bytes"] for s in index["shards"]) / 1e6
    click.echo(f"wrote {index['n_examples']} examples of {len(index['subjects'])} subject(s) in "
               f"{len(index['shards'])} shard(s), {size_mb:.1f} MB, {index['write_seconds']:.1f} s -> {out}")
