"""bbc: a Blessed Base Container hierarchy manager."""

__version__ = "0.1.0"
