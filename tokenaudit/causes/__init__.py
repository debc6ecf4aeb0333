"""The causes of a refusal (data/causes.toml) and their fixes, filled with the user's values.

Modules: ``definitions``, ``recommend``. The names below are what the other stages use; each is
imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .definitions import CAUSE_IDS, load_causes
    from .recommend import issuer_difference, known, ready_fix

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "CAUSE_IDS",
    "issuer_difference",
    "known",
    "load_causes",
    "ready_fix",
]
