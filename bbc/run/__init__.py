"""Running a Plan: the executor (scheduling), the engines of a pool, the step handlers, what is done after a build, and the report of it all."""
