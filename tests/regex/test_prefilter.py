"""Literal prefilters: spelled-out literals, and markers searched in parts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tokenaudit import load_catalogue
from tokenaudit.regex.prefilter import MARKER_PART_ALTERNATIVES, marker_parts, required_literals, search_marker


def test_a_short_shared_literal_is_spelled_out_through_the_groups_that_follow() -> None:
    assert required_literals("User (?:not found|is inactive)['\"]") == ("User is inactive", "User not found")
    issuer = required_literals(r"(?:jwt |token )?invalid (?:token )?issuer\b")
    assert issuer == ("invalid issu", "invalid token issu")  # spelled until every literal is selective (12)


def test_an_alternative_without_a_selective_literal_is_spelled_on_into_what_follows_the_branch() -> None:
    # ' state' alone made every kernel "entered forwarding state" line of a Proxmox syslog a candidate
    pattern = r'(?:unable to verify authorization request|no \\?"[^"\s\\]*\\?") state\b'
    assert required_literals(pattern) == ("unable to verify authorization request", '" state')
    assert not any(literal in "vmbr0: port 2(tap100i0) entered forwarding state"
                   for literal in required_literals(pattern))
    # an alternative selective on its own keeps its literal
    assert set(required_literals(r"(?:Token has expired|Bad) token\b")) == {"Bad token", "Token has expired"}


def test_every_signature_sample_holds_one_of_its_literals() -> None:
    """A prefilter may let too much through, never too little."""
    missing = []
    for signature in load_catalogue().signatures:
        for sample in signature.samples:
            if not sample.match or not signature.prefilter:
                continue
            text = sample.message.lower() if signature.tier != "signature" else sample.message
            if not any(literal in text for literal in signature.prefilter):
                missing.append(signature.id)
    assert not missing


def test_a_real_marker_in_parts_finds_what_the_whole_finds() -> None:
    catalogue = load_catalogue()
    marker = catalogue.marker("syslog_rfc3164", generic_search=True)
    assert marker is not None
    parts = marker_parts(marker)
    assert len(parts) > 2 and all(len(marker_parts(part, size=1)) <= MARKER_PART_ALTERNATIVES for part in parts)
    texts = pa.array([sample.message for s in catalogue.signatures for sample in s.samples][:2000]
                     + ["nothing at all", "successful auth for user 'root@pam'", None])
    whole = pc.match_substring_regex(texts, marker)
    assert search_marker(texts, marker).to_pylist() == whole.to_pylist()
    assert 0 < pc.sum(whole).as_py() < len(texts) - 1
