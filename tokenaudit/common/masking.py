"""Redaction and masking: tokens never leave the input line they arrived in.

Every stored message passes through :func:`redact_tokens` first. A JWT (or
JWE) becomes ``<JWT>``, the value after ``Bearer`` becomes ``<TOKEN>``, and
``client-key``/``client_secret`` values and the values of ``access_token``,
``id_token`` and ``refresh_token`` become ``<SECRET>`` (a short lower-case
word after an unquoted ``access_token: `` is the software's prose and
stays). The work is one vectorized regex replace per rule over a pyarrow
array.

Masking (``data/masks.toml``, ordered rules in the manner of Drain3) turns a
redacted message into a template: ids, addresses, times and numbers become
``<NUM>``, ``<IP>``, ``<TIME>``..., so unexplained failures can be counted
by kind.

Capping (:func:`cap_texts`, :func:`shorten`) bounds what is stored and what a person is shown, whatever the
length of a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from .datafiles import check_keys, package_data, read_toml

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.common")

#: Ordered (regex, replacement) rules; RE2 syntax.
REDACTIONS = (
    # Compact JWS (3 parts) and JWE (5 parts): base64url header starting {"
    (r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}", "<JWT>"),
    (r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", r"\1<TOKEN>"),
    (r"(?i)((?:client[-_]key|client[-_]secret)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]{4,}", r"\1<SECRET>"),
    # A token's value: after `=`, a quoted key or a quote, or straight after `:`, whatever it holds.
    (r"(?i:((?:access_token|id_token|refresh_token)(?:[\"']?\s*=\s*[\"']?|[\"']\s*:\s*[\"']?|:\s*[\"']|:)))"
     r"[^\s\"'&,}]{4,}", r"\1<SECRET>"),
    # After `: ` unquoted, the software may be writing prose about the token ("failed to parse access_token:
    # unsupported signing method"), whose words name the cause and stay: there a value is one that holds a digit,
    # a capital or a sign, or a long run of letters.
    (r"(?i:((?:access_token|id_token|refresh_token):\s+))"
     r"(?:[^\s\"'&,}]*[^a-z\s\"'&,}][^\s\"'&,}]*|[a-z]{16,})", r"\1<SECRET>"),
)


def redact_tokens(texts: pa.Array) -> pa.Array:
    """Replace tokens and secrets in ``texts``.

    Parameters
    ----------
    texts
        A pyarrow string array.

    Returns
    -------
    pyarrow.Array
        The same texts, redacted.

    Examples
    --------
    >>> jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    >>> redact_tokens(pa.array([f"got {jwt} and Bearer abcdefghijk", "id_token=abcdef&x=1"])).to_pylist()
    ['got <JWT> and Bearer <TOKEN>', 'id_token=<SECRET>&x=1']
    """
    for pattern, replacement in REDACTIONS:
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    return texts


@dataclass(frozen=True)
class Mask:
    """A masking rule: what to replace (RE2) and the tag it becomes."""

    name: str
    pattern: str
    sample_text: str
    sample_masked: str


@cache
def load_masks() -> tuple[Mask, ...]:
    """The ordered masking rules of ``data/masks.toml``."""
    path = DATA_DIR / "masks.toml"
    data = read_toml(path)
    masks = []
    for entry in data.get("mask", []):
        check_keys(entry, required=("name", "pattern", "sample"), optional=(), path=str(path), where=entry.get("name"))
        masks.append(Mask(entry["name"], entry["pattern"], entry["sample"]["text"], entry["sample"]["masked"]))
    return tuple(masks)


def mask_messages(texts: pa.Array) -> pa.Array:
    """Redact tokens, then mask ids, addresses, times and numbers: the template of each message.

    Examples
    --------
    >>> mask_messages(pa.array(["no such user ('282374728973') from 10.0.0.7"])).to_pylist()
    ["no such user ('<NUM>') from <IP>"]
    """
    texts = redact_tokens(texts)
    for mask in load_masks():
        texts = pc.replace_substring_regex(texts, mask.pattern, f"<{mask.name}>")
    return texts


#: Characters of a message the dataset keeps; ``message_length`` records the full length.
MESSAGE_LIMIT = 4096
#: Characters of an example line or a group's value that a person is shown.
EXAMPLE_WIDTH = 300
#: What stands where text was cut.
CUT = "…"


def cap_texts(texts: pa.Array, limit: int = MESSAGE_LIMIT) -> pa.Array:
    """Texts cut to ``limit`` characters, a cut one ending in ``…`` (columnar: for the stored message and values).

    One failure line of 200 MB must not become 200 MB in every report: what a validator writes fits well within
    the limit, and the message's full length is kept beside it.

    Examples
    --------
    >>> cap_texts(pa.array(["short", "x" * 10, None]), limit=6).to_pylist()
    ['short', 'xxxxxx…', None]
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    too_long = pc.fill_null(pc.greater(pc.utf8_length(texts), limit), False)
    if not pc.any(too_long).as_py():
        return texts
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(texts, 0, limit), pa.scalar(CUT), "")
    return pc.if_else(too_long, cut, texts)


def shorten(text: object, width: int = EXAMPLE_WIDTH) -> str:
    """``text`` as a person reads it, at most ``width`` characters, a cut one ending in ``…``.

    Examples
    --------
    >>> shorten("a" * 10, 5), shorten(None), shorten("ok")
    ('aaaa…', '', 'ok')
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + CUT
