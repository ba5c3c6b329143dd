"""REDIS_URL under Sentinel: parsed once, and read the same way by kombu, Celery and redis-py.

The failover itself is proven with real processes in tests/integration/test_redis_sentinel.py;
these check the parsing and that the URL handed to Celery means what REDIS_URL says, using the
libraries' own URL readers.
"""

from __future__ import annotations

import pytest
from celery import Celery
from kombu import Connection
from pydantic import ValidationError

from contravento.config import Settings
from contravento.redis_conn import RedisTarget
from contravento.worker.config import celery_config

PROD = (
    "sentinel://:s3cr3t@redis-sentinel-0.redis-sentinel:26379;"
    "sentinel://:s3cr3t@redis-sentinel-1.redis-sentinel:26379;"
    "sentinel://:s3cr3t@redis-sentinel-2.redis-sentinel:26379/0"
)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_plain_url_is_left_as_it_is() -> None:
    url = "redis://:pw@cache:6379/2"
    target = RedisTarget.parse(url)
    assert not target.is_sentinel and target.celery_url == url
    assert target.transport_options(connect_timeout=0.5, timeout=5) == {}
    conf = celery_config(settings(redis_url=url))
    assert conf["broker_url"] == conf["result_backend"] == url
    assert "master_name" not in conf["broker_transport_options"]
    assert "master_name" not in conf["result_backend_transport_options"]
    assert target.display() == "cache:6379/2"


def test_the_prod_overlay_form_names_three_sentinels_a_password_and_a_database() -> None:
    target = RedisTarget.parse(PROD, master="mymaster")
    assert target.sentinels == tuple(
        (f"redis-sentinel-{i}.redis-sentinel", 26379) for i in range(3)
    )
    assert (target.db, target.username, target.password) == (0, None, "s3cr3t")
    assert target.sentinel_password is None
    assert "s3cr3t" not in target.display()


def test_celery_gets_master_name_and_bounded_sentinel_connections() -> None:
    conf = celery_config(
        settings(redis_url=PROD, redis_sentinel_master="cv", redis_sentinel_password="sp")
    )
    for options in (conf["broker_transport_options"], conf["result_backend_transport_options"]):
        assert options["master_name"] == "cv"
        kwargs = options["sentinel_kwargs"]
        assert kwargs["password"] == "sp"
        assert 0 < kwargs["socket_connect_timeout"] <= kwargs["socket_timeout"]
    assert conf["broker_transport_options"]["visibility_timeout"] > 0


def test_database_and_password_given_once_reach_kombu_and_celery() -> None:
    """kombu and Celery read the database and password from the first sentinel URL only; the
    URL given to them carries both in every one, whatever chunk REDIS_URL put them in."""
    target = RedisTarget.parse("sentinel://:p%40ss%3Bw@a:26379;sentinel://b:26380;sentinel://c/3")
    assert target.sentinels == (("a", 26379), ("b", 26380), ("c", 26379))
    assert (target.db, target.password) == (3, "p@ss;w")

    broker = Connection(target.celery_url)
    assert broker.transport_cls == "sentinel" and broker.virtual_host == "3"
    assert broker.password == "p@ss;w"
    assert len(broker.alt) == 3

    app = Celery(set_as_current=False)
    app.conf.update(
        result_backend=target.celery_url,
        result_backend_transport_options=target.transport_options(connect_timeout=1, timeout=1),
    )
    params = app.backend.connparams
    assert [(h["host"], h["port"]) for h in params["hosts"]] == list(target.sentinels)
    assert (params["db"], params["password"]) == (3, "p@ss;w")


@pytest.mark.parametrize(
    "url, problem",
    [
        ("sentinel://a:26379;redis://b:6379/0", "every one is sentinel"),
        ("sentinel://a:26379/1;sentinel://b:26379/2", "database"),
        ("sentinel://:x@a:26379;sentinel://:y@b:26379", "password"),
        ("sentinel://a:26379/zero", "database number"),
        ("sentinel://a:26379/0?master_name=m", "options"),
    ],
)
def test_a_malformed_sentinel_list_fails_at_start(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RedisTarget.parse(url)
    with pytest.raises(ValidationError, match=problem):
        settings(redis_url=url)


def test_master_name_cannot_be_empty() -> None:
    with pytest.raises(ValidationError):
        settings(redis_sentinel_master="")


def test_limits_storage_goes_through_the_sentinels_to_the_master() -> None:
    target = RedisTarget.parse(PROD, master="mymaster", sentinel_password="sp")
    uri, options = target.limits_storage(connect_timeout=0.5, timeout=1)
    assert uri == (
        "redis+sentinel://redis-sentinel-0.redis-sentinel:26379,"
        "redis-sentinel-1.redis-sentinel:26379,redis-sentinel-2.redis-sentinel:26379/mymaster"
    )
    assert options["use_replicas"] is False and options["password"] == "s3cr3t"
    assert options["sentinel_kwargs"]["password"] == "sp"
    uri, options = target.limits_storage(connect_timeout=0.5, timeout=1, asynchronous=True)
    assert uri.startswith("async+redis+sentinel://") and options["implementation"] == "redispy"
    assert RedisTarget.parse("redis://h:6379/1").limits_storage(connect_timeout=1, timeout=2) == (
        "redis://h:6379/1",
        {"socket_connect_timeout": 1, "socket_timeout": 2},  # every call bounded, plain or not
    )
