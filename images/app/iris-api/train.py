"""Train the iris RandomForest at image build time and save it next to the app.

Fails the build (exit 1) when the model does not give the answer the service promises.
"""
from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier


def main(out: Path) -> int:
    x, y = load_iris(return_X_y=True)
    # Fixed seed: the same source builds the same model.
    model = RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1)
    model.fit(x, y)
    acc = model.score(x, y)
    probe = int(model.predict(np.array([[5.9, 3.0, 5.1, 1.8]]))[0])
    print(f"train accuracy {acc:.3f}, predict([5.9, 3.0, 5.1, 1.8]) = {probe}")
    if probe != 2 or acc < 0.95:
        print("model check failed: expected class 2 for the probe and accuracy >= 0.95")
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out, compress=3)
    print(f"saved {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "model.joblib")))
