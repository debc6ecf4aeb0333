"""Helpers every stage uses: tokenaudit's own files, its TOML data, times, and the masking of secrets."""
