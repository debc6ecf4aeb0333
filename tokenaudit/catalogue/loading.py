"""Loading the catalogue: signature, phrase and keyword files read, checked and cached.

Signatures live in ``data/signatures/<family>.toml``, phrases in
``data/phrases.toml`` and keywords in ``data/keywords.toml``. Loading checks the
schema (required and unknown keys, unique ids, compiling patterns, captures
equal to the declared ``fields``, anchoring, no catastrophic backtracking);
:func:`tokenaudit.catalogue.samples.check_catalogue` checks every signature
against its embedded samples. The checked result is cached, keyed by the
files and the code that reads them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from .. import models
from ..common.datafiles import check_keys, package_data, read_toml
from ..common.files import read_cached, write_cached
from ..errors import CatalogueError
from ..models import Signature, SignatureSample
from ..regex import lint as regex_lint
from ..regex import prefilter
from ..regex.lint import BACKTRACKING_HINT, begins_with_own_text, lint_pattern, validate_regex
from ..regex.prefilter import required_literals
from ..schema import EVENT_FIELDS
from . import word_classes
from .order import Catalogue
from .word_classes import expand_word_classes, read_word_classes
from .wrappers import ANCHOR_HINT, WRAPPERS_FILE

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.catalogue")


_FILE_KEYS: dict[str, Any] = {"required": ("family", "source"), "optional": ("software", "signature")}


_SIGNATURE_KEYS = {
    "required": ("id", "title", "pattern"),
    "optional": (
        "kind",
        "cause",
        "alternatives",
        "search",
        "applies_to",
        "explains",
        "follows",
        "fields",
        "software",
        "source",
        "sample",
        "deprecated",
        "fix_variant",
        "coarse",
    ),
}


_SAMPLE_KEYS = {"required": ("message",), "optional": ("match", "expect", "why")}


def _signature_from_toml(
    data: dict[str, object], *, family: str, software: str, source: str, path: str
) -> Signature:
    check_keys(data, **_SIGNATURE_KEYS, path=path, where=str(data.get("id", "?")))
    sid = str(data["id"])
    if not sid.startswith(f"{family}.") or not sid.replace(".", "_").replace("_", "a").isalnum():
        raise CatalogueError(
            f"id must be <family>.<snake_case> with family {family!r}", path=path, signature_id=sid
        )
    pattern = str(data["pattern"])
    if problem := validate_regex(pattern):
        raise CatalogueError(f"pattern is not a usable regex: {problem}", path=path, signature_id=sid)
    search = bool(data.get("search", False))
    _check_anchoring(pattern, search=search, path=path, signature_id=sid)
    if backtracking := lint_pattern(pattern):
        raise CatalogueError(f"pattern could backtrack catastrophically: {backtracking[0]}", path=path,
                             signature_id=sid, hint=BACKTRACKING_HINT)
    groups = _named_groups(pattern)
    fields: tuple[str, ...] = tuple(data.get("fields", groups))  # type: ignore[arg-type]
    if set(fields) != set(groups):
        raise CatalogueError(
            f"fields {sorted(fields)} differ from the pattern's named groups {sorted(groups)}",
            path=path,
            signature_id=sid,
        )
    unknown = sorted(set(fields) - set(EVENT_FIELDS))
    if unknown:
        raise CatalogueError(
            f"unknown field(s) {unknown}",
            path=path,
            signature_id=sid,
            hint=f"fields are columns of the dataset: {', '.join(EVENT_FIELDS)}",
        )
    kind = str(data.get("kind", "cause"))
    if kind not in ("envelope", "cause"):
        raise CatalogueError(f"kind must be envelope or cause, not {kind!r}", path=path, signature_id=sid)
    if kind == "envelope" and "detail" not in fields:
        raise CatalogueError("an envelope must capture `detail`", path=path, signature_id=sid)
    if kind == "cause" and not data.get("cause"):
        raise CatalogueError("a cause signature needs `cause`", path=path, signature_id=sid)
    if data.get("coarse") and not search:
        raise CatalogueError("only a search signature is coarse (tried after the keywords, at a clause)", path=path,
                             signature_id=sid, hint="drop `coarse`, or make the signature `search = true`")
    samples = []
    for sample in data.get("sample", []):  # type: ignore[attr-defined]
        check_keys(sample, **_SAMPLE_KEYS, path=path, where=sid)
        samples.append(
            SignatureSample(
                message=sample["message"],
                match=bool(sample.get("match", True)),
                expect={k: str(v) for k, v in sample.get("expect", {}).items()},
                why=sample.get("why", ""),
            )
        )
    return Signature(
        id=sid,
        family=family,
        kind=kind,  # type: ignore[arg-type]
        title=str(data["title"]),
        pattern=pattern,
        cause=str(data["cause"]) if data.get("cause") else None,
        source=str(data.get("source", source)),
        software=str(data.get("software", software)),
        alternatives=tuple(data.get("alternatives", ())),  # type: ignore[arg-type]
        search=search,
        applies_to=tuple(data.get("applies_to", ("*",))),  # type: ignore[arg-type]
        explains=tuple(data.get("explains", ())),  # type: ignore[arg-type]
        follows=tuple(data.get("follows", ())),  # type: ignore[arg-type]
        fields=fields,
        samples=tuple(samples),
        prefilter=required_literals(pattern),
        deprecated=bool(data.get("deprecated", False)),
        path=path,
        fix_variant=str(data.get("fix_variant", "")),
        coarse=bool(data.get("coarse", False)),
    )


def _check_anchoring(pattern: str, *, search: bool, path: str, signature_id: str) -> None:
    """Refuse a pattern that could start matching inside user-written text.

    A whole-message signature starts with ``^``. A ``search`` signature does
    not (the matcher anchors it, see :func:`anchored_pattern`) and must not
    begin with a wildcard, which would let it start anywhere after a wrapper;
    one captured word before the software's fixed text is allowed
    (:func:`~tokenaudit.regex.lint.begins_with_own_text`).
    """
    if not search and not pattern.startswith("^"):
        raise CatalogueError("pattern is not anchored: it must start with ^", path=path,
                             signature_id=signature_id, hint=ANCHOR_HINT)
    if search and pattern.startswith("^"):
        raise CatalogueError("a search pattern must not start with ^ (the matcher anchors it after known "
                             "wrappers)", path=path, signature_id=signature_id, hint=ANCHOR_HINT)
    if search and not begins_with_own_text(pattern):
        raise CatalogueError("a search pattern must begin with fixed text, not a wildcard", path=path,
                             signature_id=signature_id, hint=ANCHOR_HINT)


def _named_groups(pattern: str) -> list[str]:
    extracted = pc.extract_regex(pa.array([""], pa.string()), pattern) if "(?P<" in pattern else None
    if extracted is None:
        return []
    return [extracted.type.field(i).name for i in range(extracted.type.num_fields)]


def read_signature_file(path: Path) -> list[Signature]:
    """Read the signatures of one family file.

    Raises
    ------
    CatalogueError
        On any schema problem, naming the file and the signature.
    """
    data = read_toml(path)
    check_keys(data, **_FILE_KEYS, path=str(path))
    family = str(data["family"])
    if family != path.stem:
        raise CatalogueError(f"family {family!r} differs from the file name", path=str(path),
                             hint=f"name the file {family}.toml, or set family = {path.stem!r}")
    entries = data.get("signature", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CatalogueError("signature must be an array of tables", path=str(path),
                             hint="write [[signature]] (two brackets) above each one")
    return [
        _signature_from_toml(
            entry,
            family=family,
            software=str(data.get("software", family)),
            source=str(data["source"]),
            path=str(path),
        )
        for entry in entries
    ]


_PHRASE_KEYS = {"required": ("id", "cause", "title", "pattern", "source", "sample"),
                "optional": ("alternatives", "fields", "applies_to", "fix_variant", "coarse")}


_PHRASE_SAMPLE_KEYS = {"required": ("message",), "optional": ("software", "source", "match", "expect", "why")}


def read_phrase_file(path: Path) -> list[Signature]:
    """Read the tier-2 phrases (``data/phrases.toml``) as case-insensitive search signatures.

    A phrase names a cause in the words many libraries share, so it carries
    no software of its own (``software`` is empty): which library wrote the
    text is left to the tier-1 signatures. Each positive sample names the
    software that writes those words.

    Raises
    ------
    CatalogueError
        On a schema problem, a pattern that does not compile, could backtrack,
        starts with a wildcard or an anchor, or captures other than ``fields``.
    """
    return _read_words(path, "phrase")


def read_keyword_file(path: Path) -> list[Signature]:
    """Read the tier-3 keywords (``data/keywords.toml``) as case-insensitive signatures.

    A keyword is a pair of words that states a cause wherever an application
    writes it ("the aud claim is invalid", "password for alice incorrect"):
    it is looked for from the start of any word, in a message that reports a
    failure (:func:`reports_failure`), after every signature and phrase has
    had its turn. Same schema and rules as a phrase, ids ``keyword.<name>``.

    Raises
    ------
    CatalogueError
        As :func:`read_phrase_file`.
    """
    return _read_words(path, "keyword")


def _read_words(path: Path, tier: Literal["phrase", "keyword"]) -> list[Signature]:
    """Read a file of library-agnostic words for causes: phrases or keywords (``tier``)."""
    data = read_toml(path)
    check_keys(data, required=("family", "source", tier), optional=("words", "lead"), path=str(path))
    words = read_word_classes(data.get("words", {}), path)
    lead = _read_lead(data.get("lead"), path) if tier == "phrase" else ""
    entries = []
    for entry in data[tier]:
        check_keys(entry, **_PHRASE_KEYS, path=str(path), where=str(entry.get("id", "?")))
        pid = str(entry["id"])
        body = expand_word_classes(str(entry["pattern"]), words, path=str(path), signature_id=pid)
        name = pid.removeprefix(f"{tier}.")
        if name == pid or not name.replace("_", "a").isalnum():
            raise CatalogueError(f"a {tier} id is {tier}.<snake_case>", path=str(path), signature_id=pid)
        pattern = f"(?i:{lead}(?:{body}))" if lead else f"(?i:{body})"
        if problem := validate_regex(pattern):
            raise CatalogueError(f"pattern is not a usable regex: {problem}", path=str(path), signature_id=pid)
        _check_anchoring(body, search=True, path=str(path), signature_id=pid)
        if backtracking := lint_pattern(body):
            raise CatalogueError(f"pattern could backtrack catastrophically: {backtracking[0]}", path=str(path),
                                 signature_id=pid, hint=BACKTRACKING_HINT)
        groups = _named_groups(pattern)
        fields = tuple(entry.get("fields", groups))
        if set(fields) != set(groups) or not set(fields) <= set(EVENT_FIELDS):
            raise CatalogueError(f"fields {sorted(fields)} must be the pattern's named groups {sorted(groups)}, "
                                 "each a dataset column", path=str(path), signature_id=pid)
        prefilter = required_literals(body)
        if not prefilter:
            raise CatalogueError("no literal that every match holds: each line would be a candidate", path=str(path),
                                 signature_id=pid, hint="name the subject word in full in every branch")
        if any(literal != literal.lower() for literal in prefilter):
            raise CatalogueError(f"the literals {list(prefilter)} are not lower case: they are looked for in the "
                                 "text folded to lower case, so this pattern would never be tried",
                                 path=str(path), signature_id=pid, hint="write the pattern in lower case")
        if tier == "keyword" and "coarse" in entry:
            raise CatalogueError("a keyword is never coarse: coarse entries are tried after the keywords",
                                 path=str(path), signature_id=pid)
        if tier == "keyword" and groups:
            raise CatalogueError("a keyword captures no value (a word found anywhere vouches for none): "
                                 f"drop the named groups {sorted(groups)}", path=str(path), signature_id=pid)
        samples = []
        for sample in entry["sample"]:
            check_keys(sample, **_PHRASE_SAMPLE_KEYS, path=str(path), where=pid)
            samples.append(SignatureSample(
                message=str(sample["message"]), match=bool(sample.get("match", True)),
                expect={k: str(v) for k, v in sample.get("expect", {}).items()},
                why=str(sample.get("why") or sample.get("source") or ""), software=str(sample.get("software", "")),
            ))
        entries.append(Signature(
            id=pid, family=tier, kind="cause", title=str(entry["title"]), pattern=pattern,
            cause=str(entry["cause"]), source=str(entry["source"]), software="",
            alternatives=tuple(entry.get("alternatives", ())), search=True,
            applies_to=tuple(entry.get("applies_to", ("*",))), fields=fields, samples=tuple(samples),
            prefilter=prefilter, path=str(path), tier=tier, fix_variant=str(entry.get("fix_variant", "")),
            coarse=bool(entry.get("coarse", False)),
        ))
    return entries


def _read_lead(entry: object, path: Path) -> str:
    """The words a phrase may stand after (``lead`` of ``data/phrases.toml``), as an optional regex group.

    Applications name the protocol before a token's own words ("OAuth2
    access token expired", "OIDC token expired") and an article or a plain
    modifier before the token ("The specified SAS token is expired"): up to
    three such words are allowed before every phrase, so that its pattern
    still begins with the token's words.
    """
    if entry is None:
        return ""
    if not isinstance(entry, dict):
        raise CatalogueError("lead is a table with pattern, source and samples", path=str(path))
    check_keys(entry, required=("pattern", "source", "sample"), optional=(), path=str(path), where="lead")
    words = str(entry["pattern"])
    if words != words.lower() or not words.endswith(" ") or validate_regex(words):
        raise CatalogueError("the lead is a lower-case regex of words, each followed by a space", path=str(path),
                             signature_id="lead")
    return f"(?:{words}){{0,3}}"


def load_catalogue(extra: Iterable[Path] = ()) -> Catalogue:
    """Load the built-in signature catalogue, plus the user's signature files.

    Parameters
    ----------
    extra
        Further ``<family>.toml`` files; their signatures follow the built-in ones.

    Returns
    -------
    Catalogue

    Raises
    ------
    CatalogueError
        If a file is invalid or an id is defined twice.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.by_id["openidconnect.untrusted_audience"].cause
    'untrusted_extra_audience'
    """
    catalogue = _builtin_catalogue()
    for path in extra:
        catalogue = catalogue.merged(_checked(Catalogue(tuple(read_signature_file(path)))))
    return catalogue


@cache
def _builtin_catalogue() -> Catalogue:
    paths = sorted((DATA_DIR / "signatures").glob("*.toml"))
    phrase_file, keyword_file = DATA_DIR / "phrases.toml", DATA_DIR / "keywords.toml"
    key = _cache_key([*paths, phrase_file, keyword_file])
    cached = _read_cached(key)
    if cached is not None:
        return cached
    signatures: list[Signature] = []
    for path in paths:
        signatures.extend(read_signature_file(path))
    signatures.extend(read_phrase_file(phrase_file))  # tier 2 after tier 1: a named software's text wins
    signatures.extend(read_keyword_file(keyword_file))  # tier 3 last: words anywhere in a failure
    catalogue = _checked(Catalogue(tuple(signatures)))
    _write_cached(key, catalogue)
    return catalogue


# Loading checks every signature (TOML, two RE2 compiles and a parse for the prefilter each) on every run. The
# checked result is kept in the cache folder (tokenaudit.files), named by a hash of the signature files and of the
# code that reads them.
_TUPLE_FIELDS = ("alternatives", "applies_to", "explains", "follows", "fields", "prefilter")


def _cache_key(paths: list[Path]) -> str:
    digest = hashlib.sha256(str(DATA_DIR.resolve()).encode())  # signatures keep their file's path
    readers = [Path(__file__),
               *(Path(module.__file__ or "") for module in (models, prefilter, regex_lint, word_classes))]
    for path in [*paths, *readers, WRAPPERS_FILE]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _read_cached(key: str) -> Catalogue | None:
    rows = read_cached(f"catalogue-{key}.json")
    if not isinstance(rows, list):
        return None
    try:
        signatures = []
        for row in rows:
            row.update({name: tuple(row[name]) for name in _TUPLE_FIELDS})
            row["samples"] = tuple(SignatureSample(**sample) for sample in row["samples"])
            signatures.append(Signature(**row))
        return Catalogue(tuple(signatures))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cached(key: str, catalogue: Catalogue) -> None:
    write_cached(f"catalogue-{key}.json", [asdict(signature) for signature in catalogue.signatures],
                 stale="catalogue-*.json")


def _checked(catalogue: Catalogue) -> Catalogue:
    seen: set[str] = set()
    for signature in catalogue.signatures:
        if signature.id in seen:
            raise CatalogueError("id defined twice", path=signature.path, signature_id=signature.id)
        seen.add(signature.id)
    return catalogue
