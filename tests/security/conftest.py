from tests.integration.conftest import (  # noqa: F401
    api,
    database_url,
    pg_database,
    s3_server,
    storage_backend,
    storage_settings,
)
