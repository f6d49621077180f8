"""MakrX settings: everything comes from the environment.

With nothing set, MakrX runs in its embedded default (SQLite, local-memory cache,
eager Celery, console email, local media). Setting ``DATABASE_URL`` and ``REDIS_URL``
switches to PostgreSQL and Redis; see ``.env.example`` for every setting.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Embedded mode: no external services configured. Production mode turns on the
# HTTPS-only defaults that `check --deploy` asks for.
EMBEDDED = not env.str("DATABASE_URL", default="")
SECURE_DEFAULTS = not DEBUG and not EMBEDDED

EMBEDDED_SECRET_KEY = "django-insecure-embedded-only-set-SECRET_KEY-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])


def _is_public_key(key: str) -> bool:
    """Too short to resist guessing, or one of the published examples."""
    return len(key) < 50 or key.startswith(("django-insecure", "change-me"))


if not EMBEDDED:
    # Production mode never starts on a public key, per-process limits or a
    # guessed host list: each of these would fail quietly, so refuse loudly.
    if _is_public_key(SECRET_KEY):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters "
            "when DATABASE_URL is set."
        )
    if _is_public_key(env.str("JWT_SIGNING_KEY", default=SECRET_KEY)):
        raise ImproperlyConfigured(
            "JWT_SIGNING_KEY, when set, must be a random value of at least 50 characters "
            "when DATABASE_URL is set."
        )
    if not env.str("REDIS_URL", default=""):
        raise ImproperlyConfigured(
            "REDIS_URL must be set when DATABASE_URL is set: without it throttles and "
            "login limits are kept per process."
        )
    if not env.list("ALLOWED_HOSTS", default=[]):
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DATABASE_URL is set.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "apps.makerspaces.admin_apps.MakrXAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mozilla_django_oidc",
    "apps.core",
    "apps.accounts",
    "apps.makerspaces",
    "apps.equipment",
    "apps.inventory",
    "apps.projects",
    "apps.store",
    "bench",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.UserLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.core.headers.SecurityHeadersMiddleware",
    "apps.core.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "makrx.urls"
WSGI_APPLICATION = "makrx.wsgi.application"
ASGI_APPLICATION = "makrx.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.makrx",
                "apps.store.context_processors.cart",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
    # failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttles, JWKS) --------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="makrx")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "makrx",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

# --- Auth ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
EMAIL_VERIFICATION_MAX_AGE = timedelta(days=env.int("EMAIL_VERIFICATION_DAYS", default=3))
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)

# Login failures (apps/accounts/throttles.py): after this many failed attempts
# within the window, further attempts for that account from that address, from
# that address, or for that account from anywhere answer 429. The per-account
# limit is high so that one guesser cannot lock a member out.
LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS", default=5)
LOGIN_FAILURE_LIMIT_IP = env.int("LOGIN_FAILURE_LIMIT_IP", default=20)
LOGIN_FAILURE_LIMIT_ACCOUNT = env.int("LOGIN_FAILURE_LIMIT_ACCOUNT", default=100)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)

# OIDC (Keycloak or any OpenID Connect provider): on when OIDC_RP_CLIENT_ID is set.
OIDC_ENABLED = bool(env.str("OIDC_RP_CLIENT_ID", default=""))
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
# Accepted `aud` values of API bearer tokens (Keycloak puts the client id in azp
# and "account" in aud unless an audience mapper is configured).
OIDC_API_AUDIENCES = env.list("OIDC_API_AUDIENCES", default=[])
OIDC_JWKS_CACHE_SECONDS = env.int("OIDC_JWKS_CACHE_SECONDS", default=3600)
OIDC_CREATE_USER = True
OIDC_USE_NONCE = True

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("apps.accounts.oidc.MakrXOIDCBackend")

# --- API ----------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Largest CSV file accepted by the inventory import (API and admin).
CSV_IMPORT_MAX_BYTES = env.int("CSV_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
# Largest 3D model file (STL or 3MF) a fabrication upload accepts, in megabytes.
FABRICATION_MAX_UPLOAD_MB = env.int("FABRICATION_MAX_UPLOAD_MB", default=50)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.OIDCBearerAuthentication",
        "apps.accounts.authentication.JWTBearerAuthentication",
        "apps.accounts.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in (API.md): form bodies would reach the JSON fields as text that each
    # field parses again, past the checks of BoundedJSONParser. Uploads name their
    # own parsers.
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.EnvelopePagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttles.AnonRateThrottle",
        "apps.core.api.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "register": env.str("THROTTLE_REGISTER", default="20/hour"),
        "email": env.str("THROTTLE_EMAIL", default="10/hour"),
    },
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.envelope_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.MakrXAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ISSUER": "makrx",
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Access tokens carry a digest of the password, so a password change or reset
    # ends them too, not only the refresh tokens it blacklists.
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MakrX API",
    "DESCRIPTION": "The API of MakrX, the operating system of a network of makerspaces.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LocaleEnum": "apps.accounts.models.Locale",
        "MembershipStatusEnum": "apps.makerspaces.models.MembershipStatus",
        "InvitationStatusEnum": "apps.makerspaces.models.InvitationStatus",
        "MembershipRoleEnum": "apps.makerspaces.models.MembershipRole",
        "ProjectStatusEnum": "apps.projects.models.ProjectStatus",
        "ProjectPrivacyEnum": "apps.projects.models.ProjectPrivacy",
        "CollaboratorRoleEnum": "apps.projects.models.CollaboratorRole",
        "MovementKindEnum": "apps.inventory.models.MovementKind",
        "MaintenanceKindEnum": "apps.equipment.models.MaintenanceKind",
        "ShippingMethodEnum": "apps.store.models.ShippingMethod",
        "OrderStatusEnum": "apps.store.models.OrderStatus",
        "PaymentStatusEnum": "apps.store.models.PaymentStatus",
        "FulfillmentStatusEnum": "apps.store.models.FulfillmentStatus",
        "PaymentProviderEnum": "apps.store.models.PaymentProvider",
        "FabricationStatusEnum": "apps.store.models.FabricationStatus",
        "VoucherKindEnum": "apps.store.models.VoucherKind",
        "ShortageReasonEnum": "apps.store.services.cart.ShortageReason",
        "ReasonEnum": "apps.store.models.ProductStockReason",
    },
    # Swagger UI is served from our own static files: the network may be closed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "equipment-mark-no-shows": {"task": "apps.equipment.tasks.mark_no_shows", "schedule": 300.0},
    "equipment-expire-waitlist-offers": {
        "task": "apps.equipment.tasks.expire_waitlist_offers",
        "schedule": 60.0,
    },
    "equipment-send-reminders": {"task": "apps.equipment.tasks.send_reminders", "schedule": 300.0},
    "inventory-low-stock-digest": {
        "task": "apps.inventory.tasks.send_low_stock_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    "store-release-unpaid-orders": {
        "task": "apps.store.tasks.release_unpaid_orders",
        "schedule": 60.0,
    },
    "core-purge-idempotency-records": {
        "task": "apps.core.tasks.purge_idempotency_records",
        "schedule": crontab(minute=17),
    },
}

# --- Email --------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MakrX <no-reply@makrx.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Payments -----------------------------------------------------------------
# Without a secret key the store pays through its test-mode provider (a local pay page).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Another address for the Stripe API (the tests' stand-in on loopback); empty: Stripe's.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# --- Store checkout -----------------------------------------------------------
# Sales tax of the central MakrX catalogue's orders, in percent (markets set their own).
STORE_TAX_RATE = env.str("STORE_TAX_RATE", default="20")
# How the central catalogue's orders reach the buyer (the shape of a market's options).
STORE_CENTRAL_DELIVERY_OPTIONS = {
    "pickup": {"enabled": True},
    "shipping": {"enabled": True, "fee": env.str("STORE_CENTRAL_SHIPPING_FEE", default="6.90")},
}
# How the central catalogue is paid (a market lists its own).
STORE_CENTRAL_PAYMENT_METHODS = ["card"]
# An unpaid order gives its stock back after this many minutes.
STORE_UNPAID_ORDER_MINUTES = env.int("STORE_UNPAID_ORDER_MINUTES", default=30)

# --- Files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_DEFAULT_ACL = None
    # Signed URLs by default, so a private bucket works; a public bucket (or one behind
    # a CDN at AWS_S3_CUSTOM_DOMAIN) can serve plain URLs instead.
    AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", default=True)
    AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default=None)
    # "path" for S3-compatible servers addressed by IP or without wildcard DNS (MinIO).
    AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default=None)
    AWS_S3_SIGNATURE_VERSION = env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4")
    default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
    # The pages show product images from the bucket, so the CSP lets them in.
    if AWS_S3_CUSTOM_DOMAIN:
        MEDIA_ORIGINS = [f"https://{AWS_S3_CUSTOM_DOMAIN}"]
    elif AWS_S3_ENDPOINT_URL:
        _endpoint = urlsplit(AWS_S3_ENDPOINT_URL)
        MEDIA_ORIGINS = [
            f"{_endpoint.scheme}://{_endpoint.netloc}",
            f"{_endpoint.scheme}://*.{_endpoint.netloc}",
        ]
    else:
        MEDIA_ORIGINS = ["https://*.amazonaws.com"]
else:
    default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    MEDIA_ORIGINS = []
# Product images (apps/store/images.py): checked with Pillow by their content, never by
# their name or the client's content type. The pixel limit keeps a small file that
# unpacks to a huge picture (a decompression bomb) from being decoded at all.
STORE_IMAGE_MAX_MB = env.int("STORE_IMAGE_MAX_MB", default=5)
STORE_IMAGE_MAX_BYTES = STORE_IMAGE_MAX_MB * 1024 * 1024
STORE_IMAGE_MAX_PIXELS = env.int("STORE_IMAGE_MAX_PIXELS", default=40_000_000)
STORE_IMAGE_TYPES = env.list("STORE_IMAGE_TYPES", default=["JPEG", "PNG", "WEBP"])
STORE_IMAGES_PER_PRODUCT = env.int("STORE_IMAGES_PER_PRODUCT", default=10)
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED

# --- I18n ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("uk", _("Ukrainian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_DEFAULTS)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_DEFAULTS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_DEFAULTS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_DEFAULTS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_DEFAULTS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy of the pages: every script, style, font and image is
# served from this site (no CDN), so nothing else is allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MEDIA_ORIGINS],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default="camera=(), microphone=(), geolocation=(self), payment=(self), usb=()",
)

# --- Cross-origin (CORS) for browser frontends on other origins ------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "X-Request-ID"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "idempotency-key",
    "x-request-id",
]

# --- Client address behind proxies ---------------------------------------------
# How many X-Forwarded-For hops to believe: a number (the proxies in front of
# MakrX), or a list of proxy networks (CIDR). Empty means REMOTE_ADDR only, so a
# client cannot pick its own address by sending the header.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Logging ------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
