"""A project laid out unlike the kit's sample: code under src/, requirements under
requirements/ (no server named), its own settings names, and STATIC_ROOT/MEDIA_ROOT inside
the project (as Wagtail's template has them) and STATIC_URL fixed here rather than read from
the environment. The kit must find and serve them anyway."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")
INSTALLED_APPS = ["django.contrib.staticfiles", "django.contrib.contenttypes", "shop"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True},
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["SHOP_DB_NAME"],
    }
}
USE_TZ = True
STATIC_URL = "/assets/"
STATIC_ROOT = BASE_DIR / "collected"
MEDIA_URL = "/uploads/"
MEDIA_ROOT = BASE_DIR / "uploads"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
