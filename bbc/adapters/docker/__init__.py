"""The Docker engine behind the Engine protocol (bbc/adapters/engine.py).

- engine.py: DockerEngine over the SDK (connect, images, push, pull) and `connect()`.
- building.py: a build by BuildKit or the legacy builder.
- containers.py: a container run to completion, and `Containers`, what a run has started.
- api.py: the raw Engine API calls the SDK cannot make; buildkit.py: the context archive and
  BuildKit's progress; context.py: the build context as Docker reads it (.dockerignore).
"""
