"""Redaction and masking rules, tested against the samples in data/masks.toml."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tokenaudit.common.masking import load_masks, mask_messages, redact_tokens


@pytest.mark.parametrize("mask", load_masks(), ids=lambda m: m.name)
def test_mask_rule_gives_its_sample(mask) -> None:  # type: ignore[no-untyped-def]
    assert mask_messages(pa.array([mask.sample_text])).to_pylist() == [mask.sample_masked]


def test_messages_differing_only_in_ids_share_a_template() -> None:
    texts = ["no such user ('282374728973') from ::ffff:10.0.0.7", "no such user ('9911223344') from 192.0.2.9"]
    assert len(set(mask_messages(pa.array(texts)).to_pylist())) == 1


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Authorization: Bearer abcdefghijklmnopq", "Authorization: Bearer <TOKEN>"),
        ("#id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&state=1", "#id_token=<SECRET>&state=1"),
        ("x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl y", "x <JWT> y"),
        ("client_secret=hunter2hunter2 ok", "client_secret=<SECRET> ok"),
        ("nothing secret here", "nothing secret here"),
        ("access_token=abcdefghijklmnopqrstuv&x=1", "access_token=<SECRET>&x=1"),
        ('{"refresh_token": "r1.Zx9-Qa"}', '{"refresh_token": "<SECRET>"}'),
        ("failed to parse access_token: unsupported signing method: HS512",
         "failed to parse access_token: unsupported signing method: HS512"),
        ("client_secret=hunterhunter ok", "client_secret=<SECRET> ok"),
        ("got access_token: gho_16C7e42F292c6912E7710c838347Ae178B4a for user", "got access_token: <SECRET> for user"),
        ("access_token: aqpzwlxkemrnbvtyhgfd", "access_token: <SECRET>"),
        ("id_token=abcdef&x=1", "id_token=<SECRET>&x=1"),
    ],
)
def test_redaction(text: str, redacted: str) -> None:
    assert redact_tokens(pa.array([text])).to_pylist() == [redacted]
