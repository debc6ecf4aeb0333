"""Captured tokens: decoding, kind and issuer, key sets, relying parties, diagnosis against a relying party."""
