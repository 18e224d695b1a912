"""The Docker engine behind the Engine protocol (bbc/adapters/engine.py): the SDK, the raw Engine API calls, BuildKit."""
