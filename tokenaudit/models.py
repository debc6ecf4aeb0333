"""Plain data objects shared across modules: formats, signatures, causes, realms, accounting.

All are frozen dataclasses except the counters, which ingest fills in as it goes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FormatKind = Literal["regex", "json", "config", "tokens"]
SignatureKind = Literal["envelope", "cause"]


@dataclass(frozen=True)
class FormatSample:
    """A real line of a log format, with the fields the format must capture from it."""

    line: str
    expect: dict[str, str]
    source: str = ""


@dataclass(frozen=True)
class LogFormat:
    """One input format, loaded from ``tokenaudit/formats/data/<name>.toml``.

    ``detect`` is a cheap anchored regex that tells whether a line has the
    format's shape; ``pattern`` (regex kinds) captures the fields; ``fields``
    (json kinds) maps each column to the JSON keys tried in order.
    """

    name: str
    title: str
    description: str
    kind: FormatKind
    detect: str
    timestamp: str
    pattern: str | None = None
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skip: tuple[str, ...] = ()
    event_status: tuple[int, ...] = ()
    event_path: str | None = None
    candidate: str | None = None
    count_pattern: str | None = None
    request_path: str | None = None
    shape: str | None = None
    continuation: str | None = None
    continuation_prefix: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    generic_search: bool = False
    flat: bool = False
    priority: int = 50
    detect_scope: Literal["line", "head"] = "line"
    fallback: bool = False
    software: str = ""
    url: str = ""
    samples: tuple[FormatSample, ...] = ()
    path: str = ""


@dataclass(frozen=True)
class SignatureSample:
    """A message a signature must match (with the captures it must give) or must not match."""

    message: str
    match: bool = True
    expect: dict[str, str] = field(default_factory=dict)
    why: str = ""
    software: str = ""


@dataclass(frozen=True)
class Signature:
    """A validator or daemon message, recognised by a regex and mapped to a cause.

    ``kind = "envelope"`` signatures recognise a failure line of some software
    (Proxmox's ``openid authentication failure; … msg=…``) and hand its
    ``detail`` capture to the ``cause`` signatures listed in ``explains``.
    ``cause`` signatures name the cause. ``follows`` names signatures whose
    line this one follows for the same request (httpd's AH01631 after
    mod_auth_openidc's detail): the pair is one failure. ``search = true`` lets a cause
    signature be found at the start of a message or after software-written
    wrappers (a validator's text passed on by whatever software logs it);
    otherwise it must match the whole text.

    ``tier`` is ``"signature"`` for the exact text of named software,
    ``"phrase"`` for the library-agnostic words of a cause
    (``tokenaudit/catalogue/data/phrases.toml``): a phrase names the cause, not who wrote it,
    and ``"keyword"`` for a pair of words that states a cause anywhere in a line that reports
    a failure (``tokenaudit/catalogue/data/keywords.toml``). ``"words"`` marks the guesses of
    the word model trained on the catalogue's samples (:mod:`tokenaudit.catalogue.word_model`), the
    last resort: one entry per cause, with no pattern of its own.
    """

    id: str
    family: str
    kind: SignatureKind
    title: str
    pattern: str
    cause: str | None
    source: str
    software: str = ""
    alternatives: tuple[str, ...] = ()
    search: bool = False
    applies_to: tuple[str, ...] = ("*",)
    explains: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    samples: tuple[SignatureSample, ...] = ()
    #: Literals of which every match holds one (lower case for a phrase); empty when none is known.
    prefilter: tuple[str, ...] = ()
    deprecated: bool = False
    path: str = ""
    tier: Literal["signature", "phrase", "keyword", "words"] = "signature"
    #: The situation the text establishes, which picks one of its cause's fixes (``client_secret``: the secret of a
    #: *client* was refused, not a user's password); empty for the cause's default.
    fix_variant: str = ""
    #: An entry that names a family of causes rather than one (a phrase of a bare OAuth error code such as
    #: ``invalid_grant``, a search signature of a software's catch-all text such as python-social-auth's
    #: ``Authentication failed: <description>``): it is tried after the keywords, whose words elsewhere in the
    #: message may name the one.
    coarse: bool = False


@dataclass(frozen=True)
class Fix:
    """A remediation text for one cause, one software (``"*"`` for any) and one situation."""

    software: str
    variant: str
    text: str


@dataclass(frozen=True)
class CauseDefinition:
    """A canonical failure cause: what it means and how to fix it."""

    id: str
    group: Literal["token", "other", "security", "none"]
    title: str
    summary: str
    explanation: str
    key_field: str | None
    fixes: tuple[Fix, ...]

    def fix_for(self, software: str, variant: str = "default") -> Fix:
        """Return the fix for ``software`` and ``variant``, falling back to ``"*"``, then to defaults.

        The situation outranks the software: an ``unconfirmed`` fix of any
        software beats a ready ``default`` command of the software itself.
        """
        for wanted_variant in (variant, "default"):
            for wanted_software in (software, "*"):
                for fix in self.fixes:
                    if (fix.software, fix.variant) == (wanted_software, wanted_variant):
                        return fix
        return Fix("*", "default", "")


@dataclass(frozen=True)
class Realm:
    """A relying party read from configuration (a Proxmox realm, say). Never holds a secret."""

    name: str
    type: str
    issuer_url: str | None = None
    client_id: str | None = None
    audiences: tuple[str, ...] = ()
    username_claim: str | None = None
    software: str = "proxmox"
    source_file: str = ""


@dataclass
class LineAccount:
    """How the lines of one input were accounted for: read = parsed + skipped + rejected."""

    read: int = 0
    parsed: int = 0
    skipped: int = 0
    rejected: int = 0
    events: int = 0
    tokens: int = 0
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    rejected_reasons: Counter[str] = field(default_factory=Counter)

    def add(self, other: LineAccount) -> None:
        """Add ``other``'s counts to these."""
        self.read += other.read
        self.parsed += other.parsed
        self.skipped += other.skipped
        self.rejected += other.rejected
        self.events += other.events
        self.tokens += other.tokens
        self.skipped_reasons.update(other.skipped_reasons)
        self.rejected_reasons.update(other.rejected_reasons)

    @property
    def balanced(self) -> bool:
        """Whether every line read was parsed, skipped or rejected."""
        return self.read == self.parsed + self.skipped + self.rejected
