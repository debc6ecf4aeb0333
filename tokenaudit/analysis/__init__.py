"""Analysis over stored events: failure groups and causes, periodic reports, answers for pasted messages.

Modules: ``answers``, ``failures``, ``pseudonymize``, ``report``, ``schedule``. The names below are
what the other stages use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .answers import Answer, why
    from .failures import (
        GroupAccounting,
        attribute_relying_party,
        cause_changes,
        cause_counts,
        classify,
        failure_groups,
        failure_rates,
        failure_timeline,
        group_accounting,
        pair_http_denials,
        paired_events,
    )
    from .pseudonymize import pseudonym
    from .report import binned_counts, build_report, time_bins
    from .schedule import crontab_line, nightly_command, systemd_units

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "Answer",
    "GroupAccounting",
    "attribute_relying_party",
    "binned_counts",
    "build_report",
    "cause_changes",
    "cause_counts",
    "classify",
    "crontab_line",
    "failure_groups",
    "failure_rates",
    "failure_timeline",
    "group_accounting",
    "nightly_command",
    "pair_http_denials",
    "paired_events",
    "pseudonym",
    "systemd_units",
    "time_bins",
    "why",
]
