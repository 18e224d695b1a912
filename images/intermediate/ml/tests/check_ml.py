"""What every image that descends from `ml` keeps: the pinned ML stack imports and fits (and
XGBoost, where ml-xgb adds it), and every compiled module of it loads (ml-runtime strips
them: this proves it harmless).

Run by bbc with the venv's python, network none, this folder mounted read-only.
"""
from __future__ import annotations

import ctypes
import importlib
import importlib.util
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

EXPECTED = ("numpy", "scipy", "scikit-learn", "joblib", "threadpoolctl")
PACKAGES = ("numpy", "scipy", "sklearn")


def load_every_extension() -> int:
    """Import each extension module of PACKAGES (dlopen it where Python cannot import it alone)."""
    site = Path(sysconfig.get_paths()["purelib"])
    failed, loaded = [], 0
    for so in sorted(p for pkg in PACKAGES for p in (site / pkg).rglob("*.so")):
        parts = so.relative_to(site).with_suffix("").parts
        module = ".".join((*parts[:-1], parts[-1].split(".")[0]))
        try:
            importlib.import_module(module.rpartition(".")[0])  # parents first: no circular half-imports
            importlib.import_module(module)
        except ImportError as exc:
            # not a module (a plain library), or one only its package may import first (a
            # circular import): the dynamic loader must still accept it
            try:
                ctypes.CDLL(str(so))
            except OSError as load_error:
                failed.append(f"{module}: {exc}; dlopen: {load_error}")
                continue
        loaded += 1
    for line in failed:
        print(f"FAIL {line}")
    print(f"{'ok  ' if not failed and loaded > 100 else 'FAIL'} {loaded} compiled modules of "
          f"{', '.join(PACKAGES)} load, {len(failed)} do not")
    return 1 if failed or loaded <= 100 else 0


def main() -> int:
    import numpy as np
    import scipy.linalg
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
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
    forest = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1).fit(x, y)
    facc = forest.score(x, y)
    print(f"ok   RandomForest fit, train accuracy {facc:.2f}")
    # both BLAS copies: numpy's (ILP64) and scipy's
    a = np.random.default_rng(0).random((60, 60)) + 60 * np.eye(60)
    if not (np.allclose(np.linalg.inv(a) @ a, np.eye(60)) and np.allclose(scipy.linalg.inv(a) @ a, np.eye(60))):
        print("FAIL numpy/scipy linear algebra gives wrong inverses")
        return 1
    print("ok   numpy and scipy BLAS/LAPACK invert a matrix")
    xacc = 1.0
    if importlib.util.find_spec("xgboost") is not None:  # ml-xgb (its own test could not be inherited)
        import xgboost as xgb

        booster = xgb.train(
            {"objective": "multi:softmax", "num_class": 3, "nthread": 1, "verbosity": 0},
            xgb.DMatrix(x, label=y),
            num_boost_round=3,
        )
        xacc = float(np.mean(booster.predict(xgb.DMatrix(x)) == y))
        print(f"ok   xgboost-cpu=={version('xgboost-cpu')} multi:softmax fit, train accuracy {xacc:.2f}")
    if acc < 0.9 or facc < 0.9 or xacc < 0.9:
        print("FAIL a tiny model on iris should fit the training data")
        return 1
    if load_every_extension():
        return 1
    print("check_ml: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
