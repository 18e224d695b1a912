"""Fail the build unless the compiled predictor agrees with xgboost on every iris row.

    python verify.py ./iris-xgb reference.json

Runs the binary the way users do (one process per row, measurements as typed text), then
its embedded --self-test, then checks that bad input is refused with exit status 2.
"""
from __future__ import annotations

import json
import subprocess
import sys


def main(binary: str, reference_path: str) -> int:
    with open(reference_path) as f:
        reference = json.load(f)
    failures = 0
    for i, (text, expected) in enumerate(zip(reference["text"], reference["classes"])):
        out = subprocess.run([binary, *text], capture_output=True, text=True, check=False)
        if out.returncode != 0 or out.stdout != f"{expected}\n":
            failures += 1
            print(f"row {i} {text}: got {out.stdout!r} (exit {out.returncode}), xgboost says {expected}")
    rows = len(reference["classes"])
    print(f"{rows - failures}/{rows} rows: compiled predictor agrees with xgboost")
    if subprocess.run([binary, "--self-test"], check=False).returncode != 0:
        failures += 1
    for bad in ([], ["5.9", "3.0", "5.1"], ["5.9", "3.0", "5.1", "x"], ["5.9", "3.0", "5.1", "1e999"],
                ["5.9", "3.0", "5.1", ""], ["5.9", "3.0", "5.1", "1.8.1"], ["nan", "3", "5", "1"]):
        code = subprocess.run([binary, *bad], capture_output=True, check=False).returncode
        if code != 2:
            failures += 1
            print(f"bad input {bad}: exit {code}, expected 2")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
