"""Running a Plan: pipeline.py (prepare, plan, execute: what every command that builds calls),
executor.py (scheduling only), pool.py (which engine a step runs on), handlers/ (what each kind
of step does, one handler per step class), tagging.py (labels and release tags), results.py
(Result, Status), options.py (RunOptions), postbuild.py (the SBOM after a build), logfile.py
(a step's log under .bbc/logs/), and the report of it all (report.py, view.py, junit.py)."""
