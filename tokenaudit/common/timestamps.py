"""Turn the raw time texts of each log format into tz-aware UTC timestamps, vectorized.

Every function takes and returns a :class:`pandas.Series`; unparseable values
become ``NaT`` (the caller counts them), never an exception.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

TIMESTAMP_KINDS = (
    "rfc3164", "iso8601", "epoch_us", "epoch_ms", "epoch_s", "pveproxy", "clf", "slash", "haproxy", "apache",
    "any", "none",
)

_STRPTIME = {
    "pveproxy": "%d/%m/%Y:%H:%M:%S %z",
    "clf": "%d/%b/%Y:%H:%M:%S %z",
}
# Arrow's strptime reads these ~7x faster than pandas, but it is lenient where pandas is
# not: it takes 29/Feb/2025 as 1 March, a leading space, "March", an offset "+00". Texts
# of exactly this shape, with a day every month has and every field in range, read the
# same in both (tests/test_timestamps.py compares them); the rest go to pandas.
_TIME_IN_RANGE = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d [+-]\d{4}$"
_STRICT = {
    "pveproxy": r"^(?:0[1-9]|1\d|2[0-8])/(?:0[1-9]|1[0-2])/\d{4}:" + _TIME_IN_RANGE,
    "clf": r"^(?:0[1-9]|1\d|2[0-8])/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:" + _TIME_IN_RANGE,
}
# Local times without a zone: nginx error logs, oauth2-proxy ("2012/04/09 11:53:36"),
# HAProxy's accept date ("26/Feb/2019:00:29:44.326"), Apache 2.4 error logs ("Tue Mar 24 18:19:40.123456 2025").
_SLASH = "%Y/%m/%d %H:%M:%S"
_FIRST_DAY, _LAST_DAY = pd.Timestamp("0001-01-02"), pd.Timestamp("9999-12-30")
_LOCAL = {"haproxy": "%d/%b/%Y:%H:%M:%S.%f", "apache": "%a %b %d %H:%M:%S.%f %Y"}


def local_timezone_name() -> str:
    """Return the IANA name of this machine's time zone, or ``"UTC"`` if it cannot be told.

    Examples
    --------
    >>> isinstance(local_timezone_name(), str)
    True
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        return name
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        return timezone_file.read_text(encoding="utf-8").strip() or "UTC"
    return "UTC"


def check_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA time zone.

    Raises
    ------
    InputError
        If the zone is unknown.

    Examples
    --------
    >>> check_timezone("Europe/Berlin")
    'Europe/Berlin'
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as UTC or Europe/Berlin",
        ) from None
    return name


def parse_timestamps(
    raw: pd.Series,
    kind: str,
    *,
    timezone: str = "UTC",
    reference: pd.Timestamp | None = None,
) -> pd.Series:
    """Parse raw time texts of one format into ``datetime64[us, UTC]``.

    Parameters
    ----------
    raw
        The time texts as the log wrote them.
    kind
        One of ``TIMESTAMP_KINDS``.
    timezone
        Zone of times that carry none (``rfc3164``).
    reference
        When the file was last written (its mtime): ``rfc3164`` times carry no
        year, so each gets the year that puts it at or before ``reference``.

    Returns
    -------
    pandas.Series
        UTC timestamps, ``NaT`` where a text did not parse.

    Examples
    --------
    >>> ref = pd.Timestamp("2026-01-02", tz="UTC")
    >>> parse_timestamps(pd.Series(["Dec 31 23:59:59", "Jan  1 00:00:01"]), "rfc3164",
    ...                  reference=ref).dt.year.tolist()
    [2025, 2026]
    >>> parse_timestamps(pd.Series(["1742836780512331"]), "epoch_us")[0]
    Timestamp('2025-03-24 17:19:40.512331+0000', tz='UTC')
    >>> parse_timestamps(pd.Series(["Tue Mar 24 18:19:40.123456 2025", "Tue Mar 24 18:19:41 2025"]), "apache",
    ...                  timezone="Europe/Berlin").dt.strftime("%H:%M:%S.%f").tolist()
    ['17:19:40.123456', '17:19:41.000000']
    """
    if kind != "none" and len(raw) > 1:
        # A log repeats its times (many lines a second): parse each distinct text once.
        codes, uniques = pd.factorize(raw.astype("string"))
        if len(uniques) < len(raw):
            parsed = _parse_kind(pd.Series(uniques), kind, timezone, reference)
            return pd.Series(parsed.array.take(codes, allow_fill=True), index=raw.index)
    return _parse_kind(raw, kind, timezone, reference)


def _parse_kind(raw: pd.Series, kind: str, timezone: str, reference: pd.Timestamp | None) -> pd.Series:
    text = raw.astype("string")
    if kind == "rfc3164":
        result = _parse_rfc3164(text, timezone, reference)
    elif kind == "iso8601":
        result = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    elif kind == "epoch_us":
        micros = pd.to_numeric(text, errors="coerce")
        result = pd.to_datetime(micros, unit="us", utc=True, errors="coerce")
    elif kind == "epoch_ms":
        millis = pd.to_numeric(text, errors="coerce")
        result = pd.to_datetime(millis * 1000, unit="us", utc=True, errors="coerce")
    elif kind in _LOCAL:
        has_fraction = text.str.contains(r"\d{2}:\d{2}:\d{2}\.\d", regex=True, na=False)
        padded = text.where(has_fraction, text.str.replace(r"(\d{2}:\d{2}:\d{2})(?=\s|$)", r"\1.0", regex=True))
        result = _localize(pd.to_datetime(padded, format=_LOCAL[kind], errors="coerce"), timezone)
    elif kind == "epoch_s":
        seconds = pd.to_numeric(text, errors="coerce")
        result = pd.to_datetime(seconds * 1_000_000, unit="us", utc=True, errors="coerce")
    elif kind == "slash":
        result = _localize(pd.to_datetime(text.str.slice(0, 19), format=_SLASH, errors="coerce"), timezone)
    elif kind == "any":
        result = _parse_any(text, timezone, reference)
    elif kind in _STRPTIME:
        result = _parse_zoned(text, kind)
    elif kind == "none":
        result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    else:
        raise ValueError(f"unknown timestamp kind {kind!r}")
    return pd.Series(result, index=raw.index).astype("datetime64[us, UTC]")


def _parse_zoned(text: pd.Series, kind: str) -> pd.Series:
    """Times with a numeric offset (``_STRPTIME``): Arrow where it reads as pandas does, pandas elsewhere."""
    values = pa.array(text.to_numpy(dtype=object, na_value=None), pa.string())
    strict = pc.fill_null(pc.match_substring_regex(values, _STRICT[kind]), False).to_numpy(zero_copy_only=False)
    parsed = pc.strptime(values, format=_STRPTIME[kind], unit="us", error_is_null=True)
    result = pd.Series(parsed.to_pandas().array, index=text.index).astype("datetime64[us, UTC]")
    if not strict.all():
        lenient = ~strict
        result[lenient] = pd.to_datetime(text[lenient], format=_STRPTIME[kind], utc=True,
                                         errors="coerce").astype("datetime64[us, UTC]")
    return result


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    # A local time at the edge of the calendar (year 1 or 9999) cannot be localized: it is no time.
    naive = naive.where((naive > _FIRST_DAY) & (naive < _LAST_DAY))
    return naive.dt.tz_localize(timezone, ambiguous=np.zeros(len(naive), dtype=bool),
                                nonexistent="shift_forward").dt.tz_convert("UTC")


def _parse_any(text: pd.Series, timezone: str, reference: pd.Timestamp | None) -> pd.Series:
    """Times of unknown logs: ISO 8601 (zone or local), 2025/03/24 18:19:40, CLF, or syslog."""
    cleaned = text.str.replace(",", ".", regex=False)
    has_zone = cleaned.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    zoned = pd.to_datetime(cleaned.where(has_zone), utc=True, format="ISO8601", errors="coerce")
    result = result.fillna(zoned.astype("datetime64[us, UTC]"))
    naive = pd.to_datetime(
        cleaned.where(~has_zone).str.replace("/", "-", regex=False).str.replace(" ", "T", n=1, regex=False),
        format="ISO8601", errors="coerce")
    result = result.fillna(_localize(naive, timezone).astype("datetime64[us, UTC]"))
    clf = pd.to_datetime(text, format=_STRPTIME["clf"], utc=True, errors="coerce")
    result = result.fillna(clf.astype("datetime64[us, UTC]"))
    missing = result.isna() & text.notna()
    if missing.any():
        result[missing] = _parse_rfc3164(text[missing], timezone, reference).astype("datetime64[us, UTC]")
    return result


def _parse_rfc3164(text: pd.Series, timezone: str, reference: pd.Timestamp | None) -> pd.Series:
    if reference is None:
        reference = pd.Timestamp.now(tz="UTC")
    reference = reference.tz_convert(timezone)
    squeezed = text.str.replace(r"\s+", " ", regex=True)

    def with_year(year: int, texts: pd.Series) -> pd.Series:
        local = pd.to_datetime(
            str(year) + " " + texts, format="%Y %b %d %H:%M:%S", errors="coerce"
        )
        return local.dt.tz_localize(
            timezone, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward"
        )

    this_year = with_year(reference.year, squeezed)
    # A line is never later than the file that holds it; one day of slack
    # covers a clock that ran a little ahead of the filesystem's.
    in_future = this_year > reference + pd.Timedelta(days=1)
    # Feb 29 exists in only one of the two years.
    earlier = in_future | this_year.isna()
    if earlier.any():  # the year before, parsed only where needed (a log of one year needs none)
        last_year = with_year(reference.year - 1, squeezed[earlier])
        this_year = this_year.where(~earlier, last_year.reindex(this_year.index))
    return this_year.dt.tz_convert("UTC")


def parse_time_bound(text: str, *, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Parse a ``--since``/``--until`` value: a duration back from now, a date, or a time.

    Parameters
    ----------
    text
        ``24h``, ``7d``, ``90m``, ``2w``; an ISO 8601 date or time (UTC unless
        it carries an offset); or epoch seconds.
    now
        The present (for durations); the current time by default.

    Raises
    ------
    InputError
        If the text is none of these.

    Examples
    --------
    >>> parse_time_bound("7d", now=pd.Timestamp("2025-03-31", tz="UTC"))
    Timestamp('2025-03-24 00:00:00+0000', tz='UTC')
    >>> parse_time_bound("2025-03-24")
    Timestamp('2025-03-24 00:00:00+0000', tz='UTC')
    """
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    value = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    try:
        if len(value) > 1 and value[-1] in units and value[:-1].isdigit():
            return now - pd.Timedelta(**{units[value[-1]]: int(value[:-1])})
        if value.isdigit():
            return pd.Timestamp(int(value), unit="s", tz="UTC")
        stamp = pd.Timestamp(value) if value else None
    except (ValueError, OverflowError):  # also out-of-range dates and durations
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise InputError(
            f"cannot read {text!r} as a time",
            hint="use a duration (24h, 7d), a date (2025-03-24) or a time (2025-03-24T18:00:00+01:00)",
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def time_window(since: str | pd.Timestamp | None, until: str | pd.Timestamp | None = None, *,
                now: pd.Timestamp | None = None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The period ``[start, end)`` that ``--since`` and ``--until`` name; a duration counts back from the end.

    A duration in ``since`` (``24h``, ``7d``) counts back from ``until`` when
    there is one, else from ``now``: ``since="1d", until="2026-10-31"`` is the
    day before 31 October. A duration in ``until`` counts back from ``now``.
    The command line and the notebooks use this one rule.

    Parameters
    ----------
    since, until
        Each a text :func:`parse_time_bound` reads, a timestamp, or ``None``
        for an open end.
    now
        The present; the current time by default.

    Returns
    -------
    tuple of pandas.Timestamp or None
        ``(start, end)`` in UTC.

    Raises
    ------
    InputError
        If a bound cannot be read, or the period ends before it starts.

    Examples
    --------
    >>> time_window("1d", "2026-10-31")
    (Timestamp('2026-10-30 00:00:00+0000', tz='UTC'), Timestamp('2026-10-31 00:00:00+0000', tz='UTC'))
    >>> time_window("7d", now=pd.Timestamp("2025-03-31", tz="UTC"))
    (Timestamp('2025-03-24 00:00:00+0000', tz='UTC'), None)
    """
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    end = _bound(until, now) if until is not None else None
    start = _bound(since, end if end is not None else now) if since is not None else None
    if start is not None and end is not None and end <= start:
        raise InputError(f"the period ends before it starts: until {until} is not after since {since}",
                         hint="swap them, or widen the period")
    return start, end


def _bound(value: str | pd.Timestamp, now: pd.Timestamp) -> pd.Timestamp:
    if isinstance(value, pd.Timestamp):
        return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    return parse_time_bound(value, now=now)


def duration_text(seconds: float) -> str:
    """A duration as a person reads it: ``59 min 27 s``, ``3 h 5 min``, ``12 d 23 h``.

    Two units at most; a duration under a minute in seconds.

    Examples
    --------
    >>> duration_text(3567), duration_text(23.4), duration_text(1120638), duration_text(7200)
    ('59 min 27 s', '23 s', '12 d 23 h', '2 h')
    """
    total = round(abs(seconds))
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    for index, (name, size) in enumerate(units):
        if total >= size or name == "s":
            big, rest = divmod(total, size)
            if name == "s":
                return f"{big} s"
            small_name, small_size = units[index + 1]
            small = rest // small_size
            return f"{big} {name}" + (f" {small} {small_name}" if small else "")
    return f"{total} s"  # pragma: no cover - the loop always returns


def epoch_seconds(value: Any) -> pd.Timestamp | None:
    """A JWT NumericDate (``exp``, ``iat``, ``nbf``) as a UTC timestamp, or ``None`` if it is not one.

    Examples
    --------
    >>> epoch_seconds(1795281087)
    Timestamp('2026-11-21 17:11:27+0000', tz='UTC')
    >>> epoch_seconds("soon") is None, epoch_seconds(True) is None
    (True, True)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return pd.Timestamp(int(value), unit="s", tz="UTC")
        except (OverflowError, ValueError):
            return None
    return None
