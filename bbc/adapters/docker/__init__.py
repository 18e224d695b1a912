"""The Docker engine behind the Engine protocol (bbc/adapters/engine.py).

- engine.py: DockerEngine over the SDK (connect, images, push, pull) and `connect()`.
- building.py: a build by BuildKit or the legacy builder.
- containers.py: a container run to completion, and `Containers`, what a run has started;
  output.py: its output as it streams (read to the end, the tail kept); owners.py: whose a
  container is (a killed run's are swept by the next); paths.py: what an image holds at a path.
- api.py: the raw Engine API calls the SDK cannot make; buildkit.py: the context archive and
  BuildKit's progress; context.py: the build context as Docker reads it (.dockerignore).
"""
