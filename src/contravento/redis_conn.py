"""Where Redis is, in one place: one server (redis://, rediss://, unix://) or the master of a
Sentinel set (REDIS_URL=sentinel://[:password@]host:26379;sentinel://host2:26379;.../N, the
form kombu and Celery read, with REDIS_SENTINEL_MASTER naming the set).

Celery gets its URL and transport options from here (worker/config.py); every other client of
Redis (the API's /ready and /metrics probes, `make run`'s check, the login rate limits) gets a
redis-py client here, asking the sentinels for the current master on every new connection and
bounded by timeouts. A plain redis:// URL is handed to redis-py as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

if TYPE_CHECKING:
    from .config import Settings

SENTINEL_SCHEME = "sentinel"
SENTINEL_PORT = 26379


def _one(values: list[Any], what: str) -> Any:
    """The value the sentinel URLs agree on (given in one or all of them), or None."""
    given = {v for v in values if v is not None}
    if len(given) > 1:
        raise ValueError(f"REDIS_URL: the sentinel URLs disagree on the {what}")
    return given.pop() if given else None


@dataclass(frozen=True)
class RedisTarget:
    url: str  # REDIS_URL as given
    master: str = "mymaster"  # REDIS_SENTINEL_MASTER
    sentinel_password: str | None = None  # REDIS_SENTINEL_PASSWORD: the sentinels' own
    sentinels: tuple[tuple[str, int], ...] = ()  # empty: a plain redis:// URL
    db: int = 0
    username: str | None = None  # the master's (and replicas') credentials
    password: str | None = None

    @classmethod
    def parse(
        cls, url: str, *, master: str = "mymaster", sentinel_password: str = ""
    ) -> RedisTarget:
        """A sentinel URL's hosts, credentials and database (given in one chunk, usually the
        /N at the end, or repeated in each); anything else is a plain URL, left to redis-py."""
        plain = cls(url=url, master=master, sentinel_password=sentinel_password or None)
        if not url.strip().startswith(f"{SENTINEL_SCHEME}://"):
            return plain
        hosts, users, passwords, dbs = [], [], [], []
        for chunk in filter(None, (c.strip() for c in url.split(";"))):
            parts = urlsplit(chunk)
            if parts.scheme != SENTINEL_SCHEME or not parts.hostname:
                raise ValueError(f"REDIS_URL: {parts.scheme}://{parts.hostname or ''} in a list "
                                 "of sentinels (every one is sentinel://host:port)")  # fmt: skip
            if parts.query or parts.fragment:
                raise ValueError("REDIS_URL: sentinel URLs take no ?options")
            hosts.append((parts.hostname, parts.port or SENTINEL_PORT))
            users.append(unquote(parts.username) if parts.username else None)
            passwords.append(unquote(parts.password) if parts.password else None)
            path = parts.path.strip("/")
            if path and not path.isdigit():
                raise ValueError(f"REDIS_URL: /{path} is not a database number")
            dbs.append(int(path) if path else None)
        return cls(
            url=url,
            master=master,
            sentinel_password=sentinel_password or None,
            sentinels=tuple(hosts),
            db=_one(dbs, "database") or 0,
            username=_one(users, "user name"),
            password=_one(passwords, "password"),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisTarget:
        return cls.parse(
            settings.redis_url,
            master=settings.redis_sentinel_master,
            sentinel_password=settings.redis_sentinel_password,
        )

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def display(self) -> str:
        """Where Redis is, without credentials (for logs and the start banner)."""
        if not self.is_sentinel:
            return self.url.split("@")[-1]
        hosts = ",".join(f"{_host(h)}:{p}" for h, p in self.sentinels)
        return f"{self.master}@sentinel {hosts}/{self.db}"

    # -- Celery / kombu ------------------------------------------------------------------

    @property
    def celery_url(self) -> str:
        """The URL for broker_url and result_backend. For Sentinel every chunk carries the
        credentials and the database: kombu and Celery take both from the first chunk only,
        while REDIS_URL usually gives the database once, at the end."""
        if not self.is_sentinel:
            return self.url
        auth = ""
        if self.username or self.password:
            auth = quote(self.username or "", safe="")
            auth += f":{quote(self.password, safe='')}" if self.password else ""
            auth += "@"
        return ";".join(
            f"{SENTINEL_SCHEME}://{auth}{_host(h)}:{p}/{self.db}" for h, p in self.sentinels
        )

    def sentinel_kwargs(self, *, connect_timeout: float, timeout: float) -> dict[str, Any]:
        """Connection options for the sentinels themselves (bounded; their own password)."""
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": timeout,
            "password": self.sentinel_password,
        }
        return kwargs

    def transport_options(self, *, connect_timeout: float, timeout: float) -> dict[str, Any]:
        """What Celery's broker and result backend transport options need for this target
        (master_name, sentinel_kwargs); nothing for a plain URL."""
        if not self.is_sentinel:
            return {}
        return {
            "master_name": self.master,
            "sentinel_kwargs": self.sentinel_kwargs(
                connect_timeout=connect_timeout, timeout=timeout
            ),
        }

    # -- redis-py clients ----------------------------------------------------------------

    def _master_kwargs(self, connect_timeout: float, timeout: float) -> dict[str, Any]:
        return {
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": timeout,
        }

    def _master_for(self, sentinel_class: Any, connect_timeout: float, timeout: float) -> Any:
        sentinel = sentinel_class(
            list(self.sentinels),
            sentinel_kwargs=self.sentinel_kwargs(connect_timeout=connect_timeout, timeout=timeout),
        )
        return sentinel.master_for(self.master, **self._master_kwargs(connect_timeout, timeout))

    def client(self, *, connect_timeout: float, timeout: float) -> redis.Redis:
        """A synchronous client of the server, or of whichever node the sentinels name master
        when it connects (a new connection after a failover finds the promoted replica)."""
        if not self.is_sentinel:
            return redis.Redis.from_url(
                self.url, socket_connect_timeout=connect_timeout, socket_timeout=timeout
            )
        master: redis.Redis = self._master_for(Sentinel, connect_timeout, timeout)
        return master

    def async_client(self, *, connect_timeout: float, timeout: float) -> aioredis.Redis:
        """The same as client(), for asyncio."""
        if not self.is_sentinel:
            return aioredis.Redis.from_url(
                self.url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=timeout,
                retry_on_timeout=False,
            )
        master: aioredis.Redis = self._master_for(AsyncSentinel, connect_timeout, timeout)
        return master

    @staticmethod
    async def aclose(client: aioredis.Redis) -> None:
        """Close an async_client(), with its connections to the sentinels."""
        manager = getattr(client.connection_pool, "sentinel_manager", None)
        await client.aclose()
        for sentinel in getattr(manager, "sentinels", ()):
            await sentinel.aclose()

    # -- the `limits` library ------------------------------------------------------------

    def limits_storage(
        self, *, connect_timeout: float, timeout: float, asynchronous: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """A storage URI and options for `limits.storage.storage_from_string(uri, **options)`:
        through the sentinels to the master (never a replica: counters must be current)."""
        prefix = "async+" if asynchronous else ""
        # limits' asyncio storages default to coredis; redis-py is the client installed here
        implementation = {"implementation": "redispy"} if asynchronous else {}
        if not self.is_sentinel:
            url = self.url
            if url.startswith("unix://"):
                url = "redis+" + url
            bounded = {"socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
            return prefix + url, {**bounded, **implementation}
        hosts = ",".join(f"{_host(h)}:{p}" for h, p in self.sentinels)
        options: dict[str, Any] = {
            "use_replicas": False,
            "sentinel_kwargs": self.sentinel_kwargs(
                connect_timeout=connect_timeout, timeout=timeout
            ),
            **self._master_kwargs(connect_timeout, timeout),
            **implementation,
        }
        return f"{prefix}redis+sentinel://{hosts}/{quote(self.master, safe='')}", options


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
