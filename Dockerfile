# syntax=docker/dockerfile:1.7
# One image for every role: API (`contravento serve`), migrations (`contravento migrate`),
# Celery worker (`celery -A contravento.worker.app worker`), reconciler
# (`contravento reconcile --every 60`) and Flower (`contravento flower`).
# Dependencies come from uv.lock only (`uv sync --frozen`): the image runs what CI tested.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ---- build: resolve nothing, install exactly the lock file into /app/.venv ----
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Third-party dependencies first: this layer is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---- runtime: slim, no compiler, no uv, non-root ----
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 contravento \
 && useradd --system --uid 10001 --gid contravento --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin contravento \
 && mkdir -p /data/storage \
 && chown -R contravento:contravento /data
COPY --from=builder --chown=contravento:contravento /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    STORAGE_DIR=/data/storage \
    AUTO_MIGRATE=false
WORKDIR /app
USER contravento
VOLUME ["/data/storage"]
EXPOSE 8000 5555
STOPSIGNAL SIGTERM
CMD ["contravento", "serve"]
