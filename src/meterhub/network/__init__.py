"""The simulated device network: how devices answer, how long they take, when power fails.

Driven by the live gateway and by the lake simulator alike; deterministic from a seed."""
