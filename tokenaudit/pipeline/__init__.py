"""Ingest: the pure per-chunk pipeline (parse, classify, count) and the incremental batch run over sources."""
