"""The workbench's tests use the API's fixtures (the two cases, a key per role, both engines)."""

from tests.e2e.api.conftest import api, api_fixture_dir  # noqa: F401
