"""Settings for the asyncrest site, read from the environment (see README, Configuration)."""
import os
from pathlib import Path

import dj_database_url
import django
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
# Runtime data (SQLite database, embedded Redis, uploads) lives here.
VAR_DIR = Path(os.environ.get("ASYNCREST_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG")


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    if DEBUG:
        return "django-insecure-asyncrest-development-only"
    raise ImproperlyConfigured(
        "Set SECRET_KEY (a long random string, the same on every web and worker machine), "
        "or DEBUG=1 for local development."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# Production defaults (DEBUG off): HTTPS only, secure cookies, HSTS. Each can be turned off
# from the environment, e.g. SECURE_SSL_REDIRECT=0 where a proxy already redirects.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Health checks come from inside the network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (nginx, a load balancer).
BEHIND_PROXY = env_bool("BEHIND_PROXY")
# How many proxies in front add the address they saw to X-Forwarded-For: the client's address
# is that many from its end (DRF's NUM_PROXIES); 0 trusts none and takes REMOTE_ADDR.
PROXY_HOPS = int(os.environ.get("PROXY_HOPS") or (1 if BEHIND_PROXY else 0))
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

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
    "drf_spectacular",
    # Swagger UI's files served by the site itself: /api/docs/ needs no CDN.
    "drf_spectacular_sidecar",
    "asyncrest",
    "tagging",
]

MIDDLEWARE = [
    # First, so that preflights and error responses of later middleware carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the URL or headers: a NUL would reach PostgreSQL as a 500.
    "demosite.middleware.RefuseControlCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demosite.urls"
WSGI_APPLICATION = "demosite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "demosite" / "templates"],
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
SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if SQLITE:
    # Web and worker processes write concurrently: WAL lets readers proceed during a write,
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    else:
        # Django 4.2 has neither option: the site's own backend does the same.
        DATABASES["default"]["ENGINE"] = "demosite.sqlite3"
        DATABASES["default"]["OPTIONS"] = {"timeout": 30}
    # Workers are separate processes, so the test database must be a file they can open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The lockout backend comes first: it refuses locked-out accounts and addresses before any
# password is checked (demosite/lockout.py, docs/security.md).
AUTHENTICATION_BACKENDS = [
    "demosite.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures of one account or from one address within the window that lock it out, and for how long.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "900"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))

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
STATICFILES_DIRS = [BASE_DIR / "demosite" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve app static files straight from their packages: no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# asyncrest's own views need none of this (they set their permissions, parsers, pagination
# and error handling); the tagging app's result views take the site's defaults.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's TokenAuthentication, its lookup kept a few seconds per process (asyncrest/auth.py).
        "asyncrest.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "asyncrest.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "asyncrest.api.schema.AutoSchema",
    # Throttles key anonymous clients by address: never by a X-Forwarded-For a client wrote.
    "NUM_PROXIES": PROXY_HOPS,
}

# Browser frontends on other origins (scheme://host[:port], comma-separated) may call the API
# with a token; cookies are not sent cross-origin, so session auth stays same-origin only.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(async|tagging|static|healthz)/"
CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "prefer", "if-none-match")
# Headers the order/poll cycle reads: where the order is, when to ask again, what changed.
CORS_EXPOSE_HEADERS = ["Location", "Retry-After", "ETag", "Preference-Applied", "Idempotent-Replayed"]
CORS_PREFLIGHT_MAX_AGE = 3600

# A refused CSRF check is JSON under the API's paths too (demosite/views.py).
CSRF_FAILURE_VIEW = "demosite.views.csrf_failure"

# The demo page at / sends people without a session to DRF's login form, then back.
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Unset REDIS_URL means the embedded server that `manage.py runstack` starts on a socket in var/.
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{VAR_DIR / 'redis.sock'}"
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}
# The login lockout's counts, shared by every web process; short timeouts so that a Redis
# outage slows no login down (the lockout then lets logins through, see docs/security.md).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "asyncrest-site",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# django-rq's /django-rq/stats.json and Prometheus /django-rq/metrics/ answer staff
# sessions, and monitoring with `Authorization: Bearer <RQ_API_TOKEN>`; unset: staff only.
RQ_API_TOKEN = os.environ.get("RQ_API_TOKEN", "")

# The OpenAPI 3 schema at /api/schema/ and Swagger UI at /api/docs/ (see asyncrest/schema.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "asyncrest",
    "DESCRIPTION": (
        "Long-running jobs as REST resources: POST an order (202 + Location), poll it "
        "(202 + Retry-After while pending, 201 + Location of the result once completed), "
        "collect the result."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["asyncrest.api.schema.one_path_per_resource"],
    # drf-spectacular's default, then the 400 the site's middleware adds (demosite/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "demosite.schema.document_refused_queries",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

ASYNCREST = {
    "QUEUE": "default",
    # Orders one user may place per period; empty: no limit.
    "ORDER_RATE": os.environ.get("ASYNCREST_ORDER_RATE", "120/minute") or None,
    "WEBHOOK_ALLOWED_HOSTS": env_list("ASYNCREST_WEBHOOK_ALLOWED_HOSTS"),
    # ASYNCREST_COALESCE=0: every order runs alone (to compare, or to rule coalescing out).
    "COALESCE": os.environ.get("ASYNCREST_COALESCE", "1") not in ("0", "false", "False", "no"),
}
# The RQ worker class runstack starts; asyncrest.worker.ForkingWorker forks a horse per job.
# ASYNCREST_RETENTION: seconds a finished order is kept before it is purged (`none`: forever).
if os.environ.get("ASYNCREST_RETENTION"):
    _retention = os.environ["ASYNCREST_RETENTION"].strip().lower()
    try:
        ASYNCREST["RETENTION"] = None if _retention == "none" else int(_retention)
    except ValueError as exc:
        raise ImproperlyConfigured(f"ASYNCREST_RETENTION must be a number of seconds or 'none', not {_retention!r}.") from exc
if os.environ.get("ASYNCREST_WORKER_CLASS"):
    ASYNCREST["WORKER_CLASS"] = os.environ["ASYNCREST_WORKER_CLASS"]

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
# How many failed entries a batch may have and still complete: a count ("100") or a share ("0.5").
if os.environ.get("TAGGING_TOLERATE"):
    try:
        _tolerate = os.environ["TAGGING_TOLERATE"]
        TAGGING["TOLERATE"] = float(_tolerate) if "." in _tolerate else int(_tolerate)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TAGGING_TOLERATE must be a count or a share, not {_tolerate!r}.") from exc
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
        "asyncrest": {"level": os.environ.get("ASYNCREST_LOG_LEVEL") or "INFO"},
        "tagging": {"level": os.environ.get("ASYNCREST_LOG_LEVEL") or "INFO"},
        # Django's own lines go to the console like the rest, not also to its mail_admins
        # handler: the site mails nobody, and on Django 4.2 that handler re-reads the request
        # to build its report, so a request refused for its query (over 1,000 parameters)
        # raised again while being logged, instead of getting its 400.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
