"""What a client is told of a job: `retrying` only for a pending job waiting for its next try."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contravento.services.jobs.machine import public_state

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LATER, EARLIER = NOW + timedelta(seconds=60), NOW - timedelta(seconds=1)


def test_a_pending_job_waiting_for_its_next_attempt_is_retrying() -> None:
    assert public_state("pending", 1, LATER, NOW) == "retrying"


def test_the_other_states_are_the_status() -> None:
    assert public_state("pending", 0, None, NOW) == "pending"  # never tried
    assert public_state("pending", 2, EARLIER, NOW) == "pending"  # due: waits for a runner
    assert public_state("pending", 1, None, NOW) == "pending"  # restarted or redispatched
    for status in ("processing", "completed", "failed"):
        assert public_state(status, 1, LATER, NOW) == status
