"""The catalogue: validator and daemon messages as data (signatures, phrases, wrappers),
who wrote a line, and the user text that is never searched.

Modules: ``loading`` (files read and checked), ``order`` (the catalogue and the order of its signatures),
``wrappers`` and ``positions`` (where a pattern may start), ``literals`` (prefilters), ``matching``, ``samples``,
``coverage``, ``identity``, ``user_text``, ``wording``, ``word_classes``, ``word_model`` (tier 4: a model of the
samples' words). The names below are what the other stages
use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .coverage import coverage_table
    from .identity import IDENTITIES, identity_of, suspicions
    from .loading import load_catalogue
    from .matching import CONFIDENCES, match_messages
    from .order import Catalogue
    from .samples import check_catalogue
    from .user_text import load_user_text, mask_user_text, searchable_rows, unescape_strings

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "CONFIDENCES",
    "Catalogue",
    "IDENTITIES",
    "check_catalogue",
    "coverage_table",
    "identity_of",
    "load_catalogue",
    "load_user_text",
    "mask_user_text",
    "match_messages",
    "searchable_rows",
    "suspicions",
    "unescape_strings",
]
