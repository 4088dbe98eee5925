"""Background work: the worker's periodic sweeps, the push lanes, the lake export job."""
