"""bbc: a Blessed Base Container hierarchy manager."""

__version__ = "0.1.0"
# The name bbc is published under (`pip install blessed-base-containers`): `bbc` on PyPI is an
# unrelated bibtex formatter that also installs a `bbc` command. The import package and the
# command stay `bbc`; pyproject.toml reads the version from here.
DISTRIBUTION = "blessed-base-containers"
