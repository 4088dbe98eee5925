"""meterhub: the central services of the GB smart-metering industry."""

__version__ = "0.1.0"
