"""Getting builds to the registry for good: candidates promoted all-or-nothing, what is published beside a release, CI pipelines."""
