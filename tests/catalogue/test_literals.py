"""The catalogue's literal index: which texts hold which literal, in one scan."""


from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tokenaudit.catalogue.loading import load_catalogue


def test_the_literal_index_finds_which_texts_hold_each_literal() -> None:
    from tokenaudit.catalogue.literals import LiteralIndex
    from tokenaudit.catalogue.matching import _Plain

    index = LiteralIndex(["Token expired", "héllo wörld"], ["invalid issuer"])
    texts = pa.array(["x Token expired", "", "INVALID Issuer here", "héllo wörld and Token expired", None])
    plain = _Plain(pc.fill_null(texts, ""), index)
    everywhere = np.arange(5)
    assert plain.having(("Token expired",), everywhere).tolist() == [0, 3]
    assert plain.having(("héllo wörld",), everywhere).tolist() == [3]
    assert plain.having(("invalid issuer",), everywhere, fold=True).tolist() == [2]
    assert plain.having(("Token expired", "héllo wörld"), np.array([1, 3, 4])).tolist() == [3]
    assert plain.having(("not indexed",), everywhere).tolist() == []  # looked for text by text
    assert plain.having(("r ha",), everywhere, fold=True).tolist() == []


def test_the_literal_index_answers_as_a_substring_test_does_for_every_signature() -> None:
    catalogue = load_catalogue()
    texts = [sample.message for s in catalogue.signatures for sample in s.samples][:3000]
    from tokenaudit.catalogue.matching import _Plain

    plain = _Plain(pa.array(texts, pa.string()), catalogue.literals)
    everywhere = np.arange(len(texts))
    for signature in catalogue.signatures[::7]:
        fold = signature.tier == "phrase"
        seen = [t.lower() for t in texts] if fold else texts
        expected = [i for i, t in enumerate(seen) if any(literal in t for literal in signature.prefilter)]
        assert plain.having(signature.prefilter, everywhere, fold=fold).tolist() == expected, signature.id
