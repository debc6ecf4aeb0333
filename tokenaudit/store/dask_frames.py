"""Dataset files as a Dask DataFrame: one partition a file, each read as the pandas readers read it.

``read_events(..., engine="dask")`` uses it. A partition is the same function of one file that the
pandas reader runs over all of them, so a computed Dask frame holds the same rows, with the same
dtypes, as the pandas one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import pandas as pd

from ..errors import InputError


def dask_frame(read: Callable[[list[PurePath]], pd.DataFrame], files: list[PurePath],
               meta: pd.DataFrame) -> Any:
    """A Dask DataFrame of ``read([file])`` for each of ``files`` (``meta``, empty, when there is none).

    Raises
    ------
    InputError
        If Dask's DataFrame is not installed.

    Examples
    --------
    >>> frame = dask_frame(lambda files: pd.DataFrame({"n": [len(files)]}), [PurePath("a"), PurePath("b")],
    ...                    pd.DataFrame({"n": pd.Series([], dtype="int64")}))
    >>> frame.npartitions, int(frame["n"].sum().compute())
    (2, 2)
    """
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise InputError("Dask is not installed", hint="pip install 'tokenaudit[dask]'") from None
    # Dask would turn string columns into Arrow strings of its own; the frame keeps the readers' dtypes.
    with dask.config.set({"dataframe.convert-string": False}):
        if not files:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_map(_one_file, files, read=read, meta=meta, enforce_metadata=False)


def _one_file(path: PurePath, read: Callable[[list[PurePath]], pd.DataFrame]) -> pd.DataFrame:
    return read([path])
