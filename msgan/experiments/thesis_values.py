"""The thesis's published numbers printed beside msgan's: ``thesis_values.json`` (copied from
../shared/reference/thesis.txt, each entry citing its section), keyed by the title of the
thesis's table or figure; a table's entry holds ``cites`` and ``values`` (mean (SD) as
printed, ``*`` the thesis's star), a string what the thesis says in words.
"""
from __future__ import annotations

import json
from pathlib import Path

PATH = Path(__file__).with_name("thesis_values.json")


def _load() -> dict:
    """Title -> the thesis's values (a table's ``values``, or the sentence)."""
    entries = json.loads(PATH.read_text())
    entries.pop("about")
    return {title: entry["values"] if isinstance(entry, dict) else entry for title, entry in entries.items()}


#: e.g. ``THESIS["Table 4.1"]["cGAN"] == ["0.0094 (0.0038)", "29.475 (0.981)"]``
THESIS = _load()
