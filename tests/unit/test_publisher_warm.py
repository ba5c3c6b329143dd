"""The Celery publisher loads what send_task would load lazily when it is built (at API start),
so the first upload routed to Celery does not import modules inside its request."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from contravento.config import Settings
from contravento.worker.app import app
from contravento.worker.publisher import CeleryPublisher

lazy = ("celery.backends.base", "kombu.transport.redis")
before = [name for name in lazy if name in sys.modules]
CeleryPublisher(app, Settings(redis_url="redis://127.0.0.1:1/0"))  # never connects
after = [name for name in lazy if name in sys.modules]
print(len(before), len(after))
"""


def test_publisher_loads_send_task_modules_when_built() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["0", "2"], out.stdout + out.stderr
