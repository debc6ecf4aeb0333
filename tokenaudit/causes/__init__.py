"""The causes of a refusal (data/causes.toml) and their fixes, filled with the user's values."""
