"""The Docker Registry HTTP API v2: the client bbc reads, retags and publishes with."""
