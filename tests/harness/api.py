"""`python -m tests.harness.api --host H --port P`: the product's API (uvicorn), faults on."""

from __future__ import annotations

import argparse

import uvicorn

from contravento.config import get_settings
from contravento.runner import uvicorn_options
from tests.harness import faults

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    faults.install()
    options = {**uvicorn_options(get_settings()), "log_level": "warning"}
    uvicorn.run("contravento.main:create_app", host=args.host, port=args.port, **options)
