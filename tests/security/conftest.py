from tests.integration.conftest import api, database_url, pg_database  # noqa: F401
