"""The table of tasks: what each one predicts from what. Every CLI choice and library
default about tasks comes from :data:`TASKS`."""
from __future__ import annotations

from dataclasses import dataclass

from data_tools.contracts.choices import look_up_option

#: the two visits of the longitudinal analysis (sec. 4.2.5): baseline and follow-up
BASELINE, FOLLOW_UP = "t0", "t1"


@dataclass(frozen=True)
class Task:
    """One prediction task.

    ``inputs``: the input sequences in channel order; with ``inputs_if_present`` they are
    candidates and the default is those every session has (``flair``), otherwise all are
    the default. ``thesis_inputs``: the inputs of the thesis's experiments (what the demo
    uses). ``target_units``: what the predicted image's values mean (model card).
    ``bids_units``: the same for a BIDS sidecar's ``Units``. ``sessions``: the visits the
    evaluation relates ((): each session on its own).
    """

    name: str
    inputs: tuple[str, ...]
    target: str
    target_units: str
    bids_units: str
    sessions: tuple[str, ...] = ()
    inputs_if_present: bool = False
    thesis_inputs: tuple[str, ...] = ()
    chapter: str = ""


_FLAIR_UNITS = "FLAIR signal intensity in the scanner's arbitrary units (as the input FLAIR images)"
_PIB_UNITS = "[11C]PIB PET distribution volume ratio (DVR, unitless)"
_MYELIN_INPUTS = ("MTR", "FA", "RD", "AD")

TASKS: dict[str, Task] = {task.name: task for task in (
    # T1POST is not in the thesis's protocol (sec. 2.2.3) but is used when present
    Task("flair", ("T1", "T2", "PD", "T1SE", "DIR", "T1POST"), "FLAIR", _FLAIR_UNITS, "arbitrary",
         inputs_if_present=True, thesis_inputs=("T1", "T2", "PD", "T1SE", "DIR"), chapter="ch. 2"),
    Task("myelin", _MYELIN_INPUTS, "PIB", _PIB_UNITS, "DVR (unitless)", thesis_inputs=_MYELIN_INPUTS, chapter="ch. 3"),
    Task("myelin-longitudinal", _MYELIN_INPUTS, "PIB", _PIB_UNITS, "DVR (unitless)", sessions=(BASELINE, FOLLOW_UP),
         thesis_inputs=_MYELIN_INPUTS, chapter="ch. 4"),
)}
TASK_NAMES = tuple(TASKS)
#: the tasks scored on one session (``msgan ablate``'s; the others relate visits)
SINGLE_SESSION_TASK_NAMES = tuple(name for name, task in TASKS.items() if not task.sessions)


def target_units(target: str, bids: bool = False, default: str = "target image units") -> str:
    """What the values of a predicted ``target`` image mean (the tasks predicting it agree)."""
    units = {t.target: (t.bids_units if bids else t.target_units) for t in TASKS.values()}
    return units.get(target, default)


def get_task(name: str, where=None) -> Task:
    """The task called ``name``; an unknown name is one ``ConfigError`` listing the tasks."""
    return look_up_option(name, TASKS, "task", where=where)
