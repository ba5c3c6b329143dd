#!/usr/bin/env bash
# Deploy ContraVento with Docker Compose (docs/operations.md, "Deploying").
#
#   ./deploy.sh local               build and start docker-compose.local.yml
#   ./deploy.sh staging             build, start docker-compose.prod.yml with .env.staging
#   ./deploy.sh prod                build, start docker-compose.prod.yml with .env.prod
#   ./deploy.sh rollback [local|staging|prod]
#                                   CELERY_ENABLED=false for the API only (every file is
#                                   processed in-process); workers keep draining the queue.
#   ./deploy.sh status [env]        docker compose ps
#
# Each build is tagged with the git commit; the API is considered up when GET /ready answers
# with status ok (or degraded, printed as a warning) within DEPLOY_WAIT_S (default 180 s).
set -euo pipefail
cd "$(dirname "$0")"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

ENV_NAME="${1:-}"
[[ -n "$ENV_NAME" ]] || usage
WAIT_S="${DEPLOY_WAIT_S:-180}"
TAG="$(git rev-parse --short HEAD 2>/dev/null || date +%Y%m%d%H%M%S)"

compose_args() {  # compose_args <env> -> sets COMPOSE (array)
  case "$1" in
    local)
      COMPOSE=(docker compose -f docker-compose.local.yml)
      ;;
    staging|prod)
      local env_file=".env.$1"
      [[ -f "$env_file" ]] || { echo "missing $env_file (secrets, see docs/operations.md)" >&2; exit 1; }
      COMPOSE=(docker compose -p "contravento-$1" -f docker-compose.prod.yml --env-file "$env_file")
      ;;
    *) usage ;;
  esac
}

api_url() {
  local port
  port="$("${COMPOSE[@]}" port api 8000 2>/dev/null | tail -n1 | sed 's/.*://')"
  echo "http://127.0.0.1:${port:-8000}"
}

wait_ready() {
  local url="$1" deadline=$((SECONDS + WAIT_S)) body=""
  echo "waiting for ${url}/ready (up to ${WAIT_S}s)..."
  while (( SECONDS < deadline )); do
    body="$(curl -fsS --max-time 5 "${url}/ready" 2>/dev/null || true)"
    # the overall status is the first key: {"status":"ok"|"degraded"|"error",...}
    if [[ "$body" == '{"status":"ok"'* ]]; then
      echo "ready: $body"; return 0
    fi
    if [[ "$body" == '{"status":"degraded"'* ]]; then
      echo "WARNING: API up but degraded (Redis or workers missing): $body"; return 0
    fi
    sleep 3
  done
  echo "API not ready after ${WAIT_S}s; last answer: ${body:-none}" >&2
  "${COMPOSE[@]}" ps >&2 || true
  "${COMPOSE[@]}" logs --tail=50 api migrate >&2 || true
  return 1
}

print_endpoints() {
  local url; url="$(api_url)"
  echo
  echo "API     ${url}   (docs ${url}/docs, readiness ${url}/ready, metrics ${url}/metrics)"
  echo "Flower  http://127.0.0.1:5555   (basic auth: FLOWER_BASIC_AUTH; keep it off the public network)"
}

deploy() {
  compose_args "$1"
  if [[ "$1" == local ]]; then
    "${COMPOSE[@]}" build
  else
    export CONTRAVENTO_IMAGE="${CONTRAVENTO_IMAGE:-contravento:${TAG}}"
    docker build -t "$CONTRAVENTO_IMAGE" .
    echo "image $CONTRAVENTO_IMAGE (push it to your registry if hosts pull from one)"
  fi
  # migrate runs first (the API and workers depend on it); workers get SIGTERM and finish
  # their running task within stop_grace_period before the new ones take over.
  "${COMPOSE[@]}" up -d --remove-orphans
  wait_ready "$(api_url)"
  print_endpoints
}

rollback() {
  local target="${1:-prod}"
  compose_args "$target"
  if [[ "$target" != local ]]; then
    local running
    running="$("${COMPOSE[@]}" ps -q api | head -n1)"
    CONTRAVENTO_IMAGE="${CONTRAVENTO_IMAGE:-$(docker inspect --format '{{.Config.Image}}' "$running")}"
    export CONTRAVENTO_IMAGE
  fi
  echo "rollback on ${target}: API with CELERY_ENABLED=false (workers and Redis untouched)"
  API_CELERY_ENABLED=false "${COMPOSE[@]}" up -d --no-deps --force-recreate api
  wait_ready "$(api_url)"
  echo "Every upload is now processed inside the API. This lasts until the next deploy;"
  if [[ "$target" == local ]]; then
    echo "to keep it, export API_CELERY_ENABLED=false before ./deploy.sh local."
  else
    echo "to keep it, set API_CELERY_ENABLED=false in .env.${target}."
  fi
}

case "$ENV_NAME" in
  local|staging|prod) deploy "$ENV_NAME" ;;
  rollback) rollback "${2:-prod}" ;;
  status) compose_args "${2:-local}"; "${COMPOSE[@]}" ps ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
