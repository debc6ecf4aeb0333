"""The Parquet dataset: its layout, the append-only commit protocol, readers, event classes and compaction."""
