"""One module (or package) per outside system: the Docker engine (the Engine protocol and its real implementation), the registry, git, and the .bbc store (state, locks)."""
