"""The thesis's published numbers that the chapter reports print beside msgan's.

They are data, kept in ``thesis_values.json`` beside this module (copied from
../shared/reference/thesis.txt, each entry citing its section): keyed by the title of the
thesis's table or figure, which is also the title of the report's section. A table's entry
holds ``cites`` and ``values`` (mean (SD) as printed, ``*`` the thesis's star); a string is
what the thesis says in words where it gives no table.
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
