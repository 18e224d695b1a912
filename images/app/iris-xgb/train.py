"""Train the iris XGBoost model (multi:softmax) and write what the C generator needs.

Writes to OUT_DIR: model.json (xgboost's own JSON model: exact float32 thresholds and
leaves, unlike the rounded text of get_dump) and reference.json (the 150 iris rows as
xgboost sees them, float32, with xgboost's predicted class for each).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_iris

PARAMS = {
    "objective": "multi:softmax",
    "num_class": 3,
    "max_depth": 3,
    "eta": 0.3,
    "seed": 0,
    "nthread": 1,
    "verbosity": 0,
}
ROUNDS = 10


def main(out_dir: Path) -> int:
    x, y = load_iris(return_X_y=True)
    booster = xgb.train(PARAMS, xgb.DMatrix(x, label=y), num_boost_round=ROUNDS)
    pred = booster.predict(xgb.DMatrix(x)).astype(int)
    probe = int(booster.predict(xgb.DMatrix(np.array([[5.9, 3.0, 5.1, 1.8]])))[0])
    acc = float(np.mean(pred == y))
    print(f"xgboost {xgb.__version__}: train accuracy {acc:.3f}, predict([5.9, 3.0, 5.1, 1.8]) = {probe}")
    if probe != 2 or acc < 0.95:
        print("model check failed: expected class 2 for the probe and accuracy >= 0.95")
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.json").write_bytes(bytes(booster.save_raw("json")))
    rows = x.astype(np.float32)  # DMatrix stores features as float32
    reference = {
        "rows": [[float(v) for v in row] for row in rows],
        "text": [[repr(float(v)) for v in row] for row in x],  # what a user would type
        "classes": [int(c) for c in pred],
    }
    (out_dir / "reference.json").write_text(json.dumps(reference))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
