"""The two modes start cleanly: `check --deploy` has nothing to say about a
production configuration, `check` passes with no configuration at all, and the
first admin can be created without a prompt.

Each command runs in a fresh process with a controlled environment, because
settings are read once, at import, from the environment.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Only what any process needs; nothing of the caller's MakrX configuration.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def clean_env(**values: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # A developer's own .env must not change what these tests see.
    env["READ_DOT_ENV"] = "false"
    env.update(values)
    return env


def production_env() -> dict[str, str]:
    return clean_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="makrx.example.org",
        DATABASE_URL="postgres://makrx:secret@db.makrx.example.org:5432/makrx",
        REDIS_URL="redis://redis.makrx.example.org:6379/0",
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_is_clean_in_production_mode() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output
    assert "?: (security." not in output, output
    assert "System check identified no issues" in output, output


def test_deploy_check_flags_a_missing_secret_key() -> None:
    env = production_env()
    del env["SECRET_KEY"]

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_check_passes_in_embedded_default() -> None:
    result = manage("check", env=clean_env())
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.slow
def test_createsuperuser_noinput_reads_the_environment(tmp_path: Path) -> None:
    # A throwaway database: the embedded default would use the project's db.sqlite3.
    env = clean_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'makrx.sqlite3'}",
    )
    password = secrets.token_urlsafe(16)

    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    created = manage(
        "createsuperuser",
        "--noinput",
        env={
            **env,
            "DJANGO_SUPERUSER_EMAIL": "Admin@MakrX.example.org",
            "DJANGO_SUPERUSER_NAME": "Ada Admin",
            "DJANGO_SUPERUSER_PASSWORD": password,
        },
    )
    assert created.returncode == 0, created.stdout + created.stderr

    shown = manage(
        "shell",
        "-c",
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "user = get_user_model().objects.get()\n"
        "print(json.dumps({'email': user.email, 'name': user.name,"
        " 'is_superuser': user.is_superuser, 'is_staff': user.is_staff,"
        " 'is_active': user.is_active, 'email_verified': user.email_verified,"
        f" 'password_ok': user.check_password({password!r})}}))",
        env=env,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == {
        "email": "admin@makrx.example.org",
        "name": "Ada Admin",
        "is_superuser": True,
        "is_staff": True,
        "is_active": True,
        "email_verified": True,
        "password_ok": True,
    }
