"""Iris species prediction over HTTP: POST /predict {"data": [4 numbers]} -> {"result": class}."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

MODEL_PATH = Path(os.environ.get("MODEL_PATH", Path(__file__).with_name("model.joblib")))
N_FEATURES = 4

model = joblib.load(MODEL_PATH)
app = Flask(__name__)


class BadInput(ValueError):
    """The request body is not {"data": [4 finite numbers]}."""


def parse_features(body: Any) -> list[float]:
    if not isinstance(body, dict) or "data" not in body:
        raise BadInput('body must be a JSON object with a "data" field')
    data = body["data"]
    if not isinstance(data, list) or len(data) != N_FEATURES:
        raise BadInput(f'"data" must be a list of {N_FEATURES} numbers '
                       "(sepal length, sepal width, petal length, petal width in cm)")
    # bool is an int in Python, but true/false are not measurements
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        raise BadInput('"data" must hold numbers only')
    if not all(math.isfinite(v) for v in data):
        raise BadInput('"data" must hold finite numbers')
    return [float(v) for v in data]


@app.post("/predict")
def predict():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if body is None:
        return jsonify(error="request body must be JSON (Content-Type: application/json)"), 400
    try:
        features = parse_features(body)
    except BadInput as exc:
        return jsonify(error=str(exc)), 400
    prediction = model.predict(np.array([features]))
    return jsonify(result=int(prediction[0]))


@app.get("/health")
def health():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    # JSON for 404/405/... too, so clients parse one error shape.
    return jsonify(error=exc.description), exc.code
