import os
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_SECRET_KEY": "q8v#n2!x7@k4p0z$w1m9^r3t6y5u8i2o4e7a1s3d6f9g2h5j8k0l",
    "DJANGO_ALLOWED_HOSTS": "www.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://www.example.org",
    "DATABASE_URL": "postgres://%2Frun%2Fpostgresql/app",
}


def deploy_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], **PRODUCTION, **extra}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_production_values() -> None:
    result = deploy_check({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_an_insecure_setting() -> None:
    result = deploy_check({"DJANGO_SESSION_COOKIE_SECURE": "false"})
    assert result.returncode != 0
    assert "security.W012" in result.stderr


def test_the_models_need_no_migration_the_project_lacks() -> None:
    # A deploy runs `migrate`: a model change without its migration would never reach the
    # database (Django only warns).
    env = {"PATH": os.environ["PATH"], **PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
