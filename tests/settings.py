"""Test settings: a throw-away data dir and a fixed key, then the real settings."""

import os
import tempfile

os.environ.setdefault("SALESRADAR_DATA_DIR", tempfile.mkdtemp(prefix="salesradar-test-"))
os.environ.setdefault("SALESRADAR_SECRET_KEY", "tests-only-not-a-secret")

from salesradar.config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory, so worker processes started by a test share the test database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(os.environ["SALESRADAR_DATA_DIR"], "test.sqlite3")
    }
