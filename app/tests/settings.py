"""The project's own settings under test, with only what a test run needs changed."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
# Async tests open connections in worker threads; persistent ones would outlive the test DB.
os.environ.setdefault("DJANGO_CONN_MAX_AGE", "0")

from myproject.settings import *  # noqa: F403

# The test client speaks plain HTTP; the redirect itself is tested with override_settings.
SECURE_SSL_REDIRECT = False
# Consumers and signals run in one process here; across processes the kit uses Redis.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
MEDIA_ROOT = tempfile.mkdtemp(prefix="djkit-media-")
# Filled once per session by collectstatic (see conftest), as a deploy does.
STATIC_ROOT = tempfile.mkdtemp(prefix="djkit-static-")
