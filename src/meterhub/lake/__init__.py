"""The event lake: an append-only Parquet dataset of every service request event and alert."""
