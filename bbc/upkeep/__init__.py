"""Keeping a hierarchy current once it exists: outdated bases and packages, pins, refresh, upgrade, rollout to downstream projects, adoption of a tree and drift."""
