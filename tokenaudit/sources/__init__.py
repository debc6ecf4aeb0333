"""Input sources: paths, folders, globs and stdin, read as byte streams (gzip too)."""
