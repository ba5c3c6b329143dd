"""The Celery application. Importing it never connects anywhere."""

from __future__ import annotations

from celery import Celery

from ..config import get_settings
from .config import celery_config

app = Celery("contravento")
app.config_from_object(celery_config(get_settings()))
app.conf.include = ["contravento.worker.tasks"]
app.autodiscover_tasks(["contravento.worker"], related_name="tasks", force=False)

TASK_NAME = "gpx.process"
