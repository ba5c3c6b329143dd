"""Celery worker package: `celery -A contravento.worker.app worker` starts a worker."""
