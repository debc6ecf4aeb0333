"""Helpers every stage uses: tokenaudit's own files, its TOML data, times, and the masking of secrets.

Modules: ``datafiles``, ``files``, ``masking``, ``threads``, ``timestamps``. The names below are what the other
stages use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .datafiles import check_keys, package_data, read_toml
    from .files import config_dir, create_once, data_dir, is_temporary, read_cached, replacing, write_cached
    from .masking import EXAMPLE_WIDTH, cap_texts, mask_messages, redact_tokens, shorten
    from .timestamps import (
        TIMESTAMP_KINDS,
        check_timezone,
        duration_text,
        epoch_seconds,
        local_timezone_name,
        parse_time_bound,
        parse_timestamps,
        time_window,
    )

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "EXAMPLE_WIDTH",
    "TIMESTAMP_KINDS",
    "cap_texts",
    "check_keys",
    "check_timezone",
    "config_dir",
    "create_once",
    "data_dir",
    "duration_text",
    "epoch_seconds",
    "is_temporary",
    "local_timezone_name",
    "mask_messages",
    "package_data",
    "parse_time_bound",
    "parse_timestamps",
    "read_cached",
    "read_toml",
    "redact_tokens",
    "replacing",
    "shorten",
    "time_window",
    "write_cached",
]
