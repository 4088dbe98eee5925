"""A synthetic GB smart-metering estate for demos, benchmarks and load tests."""
