"""Settings for the asyncrest site, read from the environment (see README, Configuration)."""
import os
import secrets
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime data (SQLite database, embedded Redis, generated secret key) lives here.
VAR_DIR = Path(os.environ.get("ASYNCREST_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    if DEBUG:
        return "django-insecure-asyncrest-development-only"
    # A single-machine install keeps a generated key in var/ so sessions survive restarts;
    # multi-machine deployments must share one key through SECRET_KEY.
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
    except OSError as exc:  # pragma: no cover - unreadable var/
        raise ImproperlyConfigured("Set SECRET_KEY: no key could be read from var/.") from exc


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "corsheaders",
    "django_rq",
    "asyncrest",
    "tagging",
]

MIDDLEWARE = [
    # First, so that preflights and error responses of later middleware carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tagging.urls"
WSGI_APPLICATION = "tagging.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes write concurrently: WAL lets readers proceed during a write,
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Workers are separate processes, so the test database must be a file they can open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve app static files straight from their packages: no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
        "tagging.parsers.CSVParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "asyncrest.exceptions.exception_handler",
}

# Browser frontends on other origins (scheme://host[:port], comma-separated) may call the API
# with a token; cookies are not sent cross-origin, so session auth stays same-origin only.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(async|tagging|static|healthz)/"
CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "prefer", "if-none-match")
# Headers the order/poll cycle reads: where the order is, when to ask again, what changed.
CORS_EXPOSE_HEADERS = ["Location", "Retry-After", "ETag", "Preference-Applied", "Idempotent-Replayed"]
CORS_PREFLIGHT_MAX_AGE = 3600

# The demo page at / sends people without a session to DRF's login form, then back.
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Unset REDIS_URL means the embedded server that `manage.py runstack` starts on a socket in var/.
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{VAR_DIR / 'redis.sock'}"
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}

ASYNCREST = {
    "QUEUE": "default",
}

TAGGING = {
    "BACKEND": os.environ.get("TAGGING_BACKEND")
    or (
        "tagging.taggers.openai.OpenAITagger"
        if os.environ.get("OPENAI_API_KEY")
        else "tagging.taggers.keywords.KeywordTagger"
    ),
    "OPTIONS": {},
}
# LLM options from the environment; the offline KeywordTagger takes none.
if TAGGING["BACKEND"] != "tagging.taggers.keywords.KeywordTagger":
    for _variable, _option, _type in [
        ("TAGGING_MODEL", "model", str),
        ("OPENAI_BASE_URL", "base_url", str),
        ("TAGGING_MAX_CONCURRENCY", "max_concurrency", int),
        ("TAGGING_TIMEOUT", "timeout", float),
    ]:
        if os.environ.get(_variable):
            try:
                TAGGING["OPTIONS"][_option] = _type(os.environ[_variable])
            except ValueError as exc:
                raise ImproperlyConfigured(f"{_variable} must be a number, not {os.environ[_variable]!r}.") from exc

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "asyncrest": {"level": os.environ.get("ASYNCREST_LOG_LEVEL", "INFO")},
        "tagging": {"level": os.environ.get("ASYNCREST_LOG_LEVEL", "INFO")},
    },
}
