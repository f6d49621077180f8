"""The two modes start cleanly: `check --deploy` has nothing to say about a
production configuration, `check` passes with no configuration at all, and the
first admin can be created without a prompt. Production mode (DATABASE_URL set)
refuses to start on an unsafe configuration, naming the setting to fix.

Each command runs in a fresh process with a controlled environment, because
settings are read once, at import, from the environment.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import jwt
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


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The message of the ImproperlyConfigured a process stopped with."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    lines = [
        line
        for line in output.splitlines()
        if line.startswith("django.core.exceptions.ImproperlyConfigured:")
    ]
    assert lines, output
    return lines[-1]


def env_example_value(name: str) -> str:
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not set in .env.example")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        pytest.param({"SECRET_KEY": None}, "SECRET_KEY", id="SECRET_KEY missing"),
        pytest.param({"SECRET_KEY": ""}, "SECRET_KEY", id="SECRET_KEY empty"),
        pytest.param({"SECRET_KEY": "k" * 49}, "SECRET_KEY", id="SECRET_KEY of 49 characters"),
        pytest.param(
            {"SECRET_KEY": "django-insecure-embedded-only-set-SECRET_KEY-in-production-0123456789"},
            "SECRET_KEY",
            id="SECRET_KEY of the embedded mode",
        ),
        pytest.param(
            {"SECRET_KEY": None, "DEBUG": "true"}, "SECRET_KEY", id="SECRET_KEY missing in DEBUG"
        ),
        pytest.param({"REDIS_URL": None}, "REDIS_URL", id="REDIS_URL missing"),
        pytest.param({"REDIS_URL": ""}, "REDIS_URL", id="REDIS_URL empty"),
        pytest.param({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS", id="ALLOWED_HOSTS missing"),
        pytest.param({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS", id="ALLOWED_HOSTS empty"),
        # An empty signing key signs tokens anyone can forge.
        pytest.param(
            {"JWT_SIGNING_KEY": ""},
            "JWT_SIGNING_KEY",
            id="JWT_SIGNING_KEY empty",
        ),
        pytest.param(
            {"JWT_SIGNING_KEY": "change-me-to-another-long-random-string"},
            "JWT_SIGNING_KEY",
            id="JWT_SIGNING_KEY short",
        ),
        pytest.param(
            {"SECRET_KEY": env_example_value("SECRET_KEY")},
            "SECRET_KEY",
            id="SECRET_KEY of .env.example",
        ),
    ],
)
def test_production_mode_refuses_to_start_on_an_unsafe_setting(
    changes: dict[str, str | None], named: str
) -> None:
    # Given the production configuration with one setting missing or unsafe
    env = production_env()
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value

    # When the process starts
    result = manage("check", env=env)

    # Then it stops, and says which setting to fix
    assert named in refusal(result)


def test_production_mode_starts_with_a_secret_key_of_fifty_characters() -> None:
    result = manage("check", env={**production_env(), "SECRET_KEY": secrets.token_hex(25)})
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_check_passes_in_embedded_default() -> None:
    env = clean_env()
    assert not {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} & set(env)

    result = manage("check", env=env)
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_jwt_signing_key_signs_tokens_the_secret_key_cannot_verify() -> None:
    # Given production with a JWT key of its own
    env = production_env()
    env["JWT_SIGNING_KEY"] = secrets.token_urlsafe(64)

    # When the process issues an access token
    result = manage(
        "shell",
        "-c",
        "from rest_framework_simplejwt.tokens import AccessToken\n"
        "token = AccessToken()\n"
        "token['user_id'] = 'someone'\n"
        "print(token)",
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    token = result.stdout.strip().splitlines()[-1]

    # Then the JWT key verifies it and SECRET_KEY does not
    claims = jwt.decode(token, env["JWT_SIGNING_KEY"], algorithms=["HS256"], issuer="makrx")
    assert claims["user_id"] == "someone"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, env["SECRET_KEY"], algorithms=["HS256"], issuer="makrx")


@pytest.mark.slow
def test_createsuperuser_noinput_reads_the_environment(tmp_path: Path) -> None:
    # A throwaway database: the embedded default would use the project's db.sqlite3.
    # Production mode (DATABASE_URL set) also needs REDIS_URL and ALLOWED_HOSTS to start;
    # neither command here reaches Redis.
    env = clean_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="makrx.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'makrx.sqlite3'}",
        REDIS_URL="redis://redis.makrx.example.org:6379/0",
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
