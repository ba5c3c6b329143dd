"""`python -m tests.harness.worker <celery worker arguments>`: the product's worker, faults on."""

from __future__ import annotations

import sys

from tests.harness import faults

if __name__ == "__main__":
    faults.install()
    from celery.bin.celery import main

    sys.argv = ["celery", "-A", "contravento.worker.app", "worker", *sys.argv[1:]]
    sys.exit(main())
