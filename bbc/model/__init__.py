"""The frozen objects everything else reads: specs, the hierarchy (the one graph), platforms, versions, refs, labels and the Dockerfile reader. Pure: no I/O beyond reading text given to it."""
