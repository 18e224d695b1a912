"""What every image that descends from `ml` keeps: the pinned ML stack imports and fits.

Run by bbc with the venv's python, network none, this folder mounted read-only.
"""
from __future__ import annotations

import sys
from importlib.metadata import version

EXPECTED = ("numpy", "scipy", "scikit-learn", "xgboost-cpu", "joblib", "threadpoolctl")


def main() -> int:
    import numpy as np
    import sklearn
    import xgboost as xgb
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    for dist in EXPECTED:
        print(f"ok   {dist}=={version(dist)}")

    # The data sets sklearn ships inside the wheel must survive the image's slimming.
    x, y = load_iris(return_X_y=True)
    if x.shape != (150, 4):
        print(f"FAIL iris shape {x.shape}")
        return 1

    acc = LogisticRegression(max_iter=500).fit(x, y).score(x, y)
    print(f"ok   sklearn {sklearn.__version__} LogisticRegression fit, train accuracy {acc:.2f}")

    booster = xgb.train(
        {"objective": "multi:softmax", "num_class": 3, "nthread": 1, "verbosity": 0},
        xgb.DMatrix(x, label=y),
        num_boost_round=3,
    )
    pred = booster.predict(xgb.DMatrix(x))
    xacc = float(np.mean(pred == y))
    print(f"ok   xgboost {xgb.__version__} multi:softmax fit, train accuracy {xacc:.2f}")

    if acc < 0.9 or xacc < 0.9:
        print("FAIL a tiny model on iris should fit the training data")
        return 1
    print("check_ml: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
