"""Options that are a choice among names, checked in one place (as MONAI's ``look_up_option``)."""
from __future__ import annotations

from typing import Mapping, TypeVar

from data_tools.errors import ConfigError

T = TypeVar("T")


def look_up_option(value, supported, what: str = "option", error: type = ConfigError, where=None):
    """``value`` if it is one of ``supported`` (a mapping: the value it maps to).

    Anything else raises ``error`` (a :class:`~data_tools.errors.MsganError`) in one line
    naming ``what`` and listing the valid names, e.g. ``unknown loss 'l3'; choose one of
    mse, l1, wl1, nwl1``; ``where`` (a file) goes first in the message.
    """
    names = list(supported)
    if value not in names:
        shown = repr(value) if isinstance(value, str) else repr(str(value))
        raise error(f"unknown {what} {shown}; choose one of {', '.join(map(str, names))}", where)
    return supported[value] if isinstance(supported, Mapping) else value
