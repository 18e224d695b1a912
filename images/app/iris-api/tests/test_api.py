"""The live service: gunicorn started in the container, spoken to over 127.0.0.1.

Run by bbc in the test image (parent + Dockerfile.test + Dockerfile), network none.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

APP_DIR = "/opt/app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:app"],
        cwd=APP_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            break
        except OSError:  # refused, reset, or a 1 s timeout while the app still imports sklearn
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.communicate()[0]
                pytest.fail(f"gunicorn did not come up on {url}:\n{out}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def call(url: str, method: str = "GET", body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def predict(base_url: str, payload: Any) -> tuple[int, Any]:
    return call(f"{base_url}/predict", "POST", json.dumps(payload).encode())


def test_health(base_url: str) -> None:
    assert call(f"{base_url}/health") == (200, {"status": "ok"})


def test_predict_the_classic_example(base_url: str) -> None:
    assert predict(base_url, {"data": [5.9, 3.0, 5.1, 1.8]}) == (200, {"result": 2})


@pytest.mark.parametrize(("row", "species"), [
    ([5.1, 3.5, 1.4, 0.2], 0),  # setosa
    ([7.0, 3.2, 4.7, 1.4], 1),  # versicolor
    ([6.3, 3.3, 6.0, 2.5], 2),  # virginica
    ([6, 3, 5, 2], 2),          # integers are numbers too
])
def test_predict_species(base_url: str, row: list[float], species: int) -> None:
    assert predict(base_url, {"data": row}) == (200, {"result": species})


@pytest.mark.parametrize("payload", [
    {},
    {"features": [5.9, 3.0, 5.1, 1.8]},
    {"data": [5.9, 3.0, 5.1]},
    {"data": [5.9, 3.0, 5.1, 1.8, 1.0]},
    {"data": "5.9, 3.0, 5.1, 1.8"},
    {"data": [5.9, "3.0", 5.1, 1.8]},
    {"data": [5.9, None, 5.1, 1.8]},
    {"data": [5.9, True, 5.1, 1.8]},
    {"data": [[5.9, 3.0, 5.1, 1.8]]},
    [5.9, 3.0, 5.1, 1.8],
])
def test_bad_input_is_a_400_with_an_error(base_url: str, payload: Any) -> None:
    status, body = predict(base_url, payload)
    assert status == 400
    assert set(body) == {"error"} and body["error"]


def test_non_finite_numbers_are_a_400(base_url: str) -> None:
    # Python's json accepts NaN; the service must not.
    status, body = call(f"{base_url}/predict", "POST", b'{"data": [NaN, 3.0, 5.1, 1.8]}')
    assert status == 400 and "finite" in body["error"]


@pytest.mark.parametrize(("body", "content_type"), [
    (b"not json", "application/json"),
    (b"", "application/json"),
    (b'{"data": [5.9, 3.0, 5.1, 1.8]}', "text/plain"),
])
def test_non_json_body_is_a_400(base_url: str, body: bytes, content_type: str) -> None:
    status, answer = call(f"{base_url}/predict", "POST", body, content_type)
    assert status == 400 and "JSON" in answer["error"]


def test_unknown_path_and_wrong_method_answer_json(base_url: str) -> None:
    assert call(f"{base_url}/nope")[0] == 404
    status, body = call(f"{base_url}/predict")
    assert status == 405 and "error" in body
