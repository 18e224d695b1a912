"""What every image that descends from `web` keeps: Flask answers, gunicorn can serve.

Run by bbc with the venv's python, network none, this folder mounted read-only.
"""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def main() -> int:
    from flask import Flask, jsonify

    for dist in ("flask", "gunicorn", "werkzeug"):
        print(f"ok   {dist}=={version(dist)}")

    app = Flask("check_web")

    @app.get("/ping")
    def ping():  # type: ignore[no-untyped-def]
        return jsonify(pong=True)

    resp = app.test_client().get("/ping")
    if resp.status_code != 200 or resp.get_json() != {"pong": True}:
        print(f"FAIL flask test client: {resp.status_code} {resp.data!r}")
        return 1
    print("ok   flask answers through its test client")

    out = subprocess.run(["gunicorn", "--version"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"FAIL gunicorn --version: {out.stderr.strip()}")
        return 1
    print(f"ok   {out.stdout.strip() or out.stderr.strip()} runs")
    print("check_web: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
