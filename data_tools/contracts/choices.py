"""Options that are a choice among names: the one check (as MONAI's ``look_up_option``)
and the name sets shared by several stages."""
from __future__ import annotations

from typing import Mapping

from data_tools.errors import ConfigError

#: the reconstruction losses by the names ``--loss`` and a run's ``config.json`` use:
#: MSE (eq. 2.1), L1 (eq. 3.4), weighted L1 (eq. 3.5), normalised weighted L1 (eq. 4.4);
#: the functions are ``msgan.losses.get(name)``
LOSS_NAMES = ("mse", "l1", "wl1", "nwl1")


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
