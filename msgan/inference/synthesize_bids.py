"""``msgan synthesize --bids DS --bids-out OUT``: the chain on every session of a BIDS
dataset that has the model's inputs, written as BIDS derivatives (``OUT/derivatives/msgan``,
:mod:`msgan.inference.bids_out`) on each session's reference grid, all or nothing."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from data_tools.errors import CohortError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.bids import is_bids_dataset
from data_tools.io.cohort import open_cohort
from data_tools.io.guard import check_outputs
from msgan.inference import bids_out as bids
from msgan.inference.predict import select_sessions
from msgan.inference.synthesize import load_model, order_inputs, run_chain


def synthesize_bids(model, dataset: str | Path, bids_out: str | Path, participant_labels: Sequence[str] | None = None,
                    reference: str | None = None, extractor: str = "auto", registration: str = "rigid",
                    force: bool = False, overwrite: bool = False, progress: bool = True) -> list[Path]:
    """The synthetic image of every selected session of ``dataset``; returns the files written."""
    if not is_bids_dataset(dataset):
        raise CohortError("not a BIDS dataset (no dataset_description.json, no sub-*/anat)", dataset)
    cohort = open_cohort(cohort=dataset)
    check_outputs({"--bids-out": Path(bids_out) / "derivatives" / bids.PIPELINE}, {"--bids": cohort})
    predictor = load_model(model)
    sessions = select_sessions(cohort, predictor.inputs, participant_labels)
    provenance = bids.model_provenance(predictor, card=predictor.card,
                                       name=model if isinstance(model, str) else None)
    derivatives = Path(bids_out) / "derivatives" / bids.PIPELINE
    written = []
    with atomic_output_dir(derivatives, overwrite=overwrite) as tmp:
        bids.write_description(tmp, provenance, Path(dataset), derivatives)
        for ses in sessions:
            paths, ref = order_inputs({n: ses.path(n) for n in predictor.inputs}, predictor.inputs,
                                      reference or predictor.inputs[0])
            result = run_chain(predictor, paths, ref, "native", extractor, registration, force, progress,
                               label=ses.label)
            files = bids.write_session(tmp, ses, result.image, None, result.session.reference, provenance,
                                       Path(dataset))
            written += [derivatives / f.relative_to(tmp) for f in files]
    return written
