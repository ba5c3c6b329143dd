"""A file's drawing profile as one gpx_profiles row (packed by domain/packed_profile)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.packed_profile import PackedProfile, pack_profile
from ..domain.profile import Profile
from .models import GPXProfile


async def replace_profile(session: AsyncSession, gpx_file_id: uuid.UUID, profile: Profile) -> None:
    """Write the file's profile in the caller's transaction, replacing any earlier one."""
    packed = pack_profile(profile)
    await session.execute(delete(GPXProfile).where(GPXProfile.gpx_file_id == gpx_file_id))
    await session.execute(
        insert(GPXProfile).values(
            gpx_file_id=gpx_file_id,
            source_point_count=packed.source_point_count,
            sample_count=packed.sample_count,
            columns=packed.columns,
            packed=packed.data,
        )
    )


async def load_profile(session: AsyncSession, gpx_file_id: uuid.UUID) -> PackedProfile | None:
    """The file's packed profile, or None (processed before gpx_profiles existed)."""
    row = (
        await session.execute(
            select(
                GPXProfile.source_point_count,
                GPXProfile.sample_count,
                GPXProfile.columns,
                GPXProfile.packed,
            ).where(GPXProfile.gpx_file_id == gpx_file_id)
        )
    ).one_or_none()
    if row is None:
        return None
    sources, samples, columns, data = row
    return PackedProfile(int(sources), int(samples), int(columns), bytes(data))
