"""File names checked against the BIDS specification's own schema (bidsschematools, a pybids
dependency), for derivatives: the Python BIDS validator knows raw datasets only, and the
JavaScript one does not install from a package registry here.

BIDS-Derivatives (common data types): a preprocessed file keeps its raw file's rule
(datatype, suffix, entities, extension) and may add ``space``, ``res``, ``den``, ``desc``.
"""
from __future__ import annotations

import re
from functools import lru_cache

DERIVATIVE_ENTITIES = ("space", "resolution", "density", "description")
LABEL = re.compile(r"^[A-Za-z0-9]+$")


@lru_cache(maxsize=1)
def _schema():
    from bidsschematools import schema

    return schema.load_schema()


def derivative_name_problems(relative: str) -> list[str]:
    """What is wrong with ``relative`` (a path inside a derivative dataset); ``[]`` when valid."""
    s = _schema()
    order = list(s.rules.entities)
    key_of = {s.objects.entities[e].name: e for e in order}  # "desc" -> "description"
    parts = relative.split("/")
    folders, filename = parts[:-1], parts[-1]
    if not folders or not folders[0].startswith("sub-"):
        return [f"{relative}: not under sub-<label>/"]
    datatype = folders[-1]
    stem, _, extension = filename.partition(".")
    extension = "." + extension
    *pairs, suffix = stem.split("_")
    problems, entities = [], []
    for pair in pairs:
        key, _, label = pair.partition("-")
        if key not in key_of:
            problems.append(f"unknown entity {key!r}")
            continue
        if not LABEL.match(label):
            problems.append(f"{key} label {label!r} is not alphanumeric")
        entities.append((key_of[key], label))
    names = [e for e, _ in entities]
    if names != sorted(names, key=order.index):
        problems.append(f"entities out of the specification's order: {names}")
    found = dict(entities)
    if found.get("subject") != folders[0].removeprefix("sub-"):
        problems.append("sub- entity differs from its folder")
    if len(folders) == 3 and (not folders[1].startswith("ses-") or found.get("session") != folders[1][4:]):
        problems.append("ses- entity differs from its folder")
    rules = [r for group in s.rules.files.raw.values() for r in group.values()
             if datatype in r.get("datatypes", []) and suffix in r.get("suffixes", [])]
    if not rules:
        return problems + [f"no BIDS rule for suffix {suffix!r} in datatype {datatype!r}"]
    for rule in rules:
        allowed = set(rule.entities) | set(DERIVATIVE_ENTITIES)
        required = {e for e, level in rule.entities.items() if level == "required"}
        if set(names) <= allowed and required <= set(names) and extension in rule.extensions:
            return problems
    return problems + [f"entities {names} or extension {extension!r} not allowed for {datatype}/{suffix}"]
