"""The catalogue: validator and daemon messages as data (signatures, phrases, wrappers),
who wrote a line, and the user text that is never searched."""
