"""The job's life: one state machine (machine), its lease (heartbeat), the processing path
(process), scheduling in-process or on Celery (dispatch) and the reconciler (reconcile)."""
