"""Settings for the brand portal, read from the environment.

Production differs from the demo only in environment variables: set DATABASE_URL and
REDIS_URL and the same code runs on PostgreSQL, a Redis cache, a Celery broker and the
Redis channel layer. See the README's settings table.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_import_path,
    env_int,
    env_json,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for, so a box that forgets it runs hardened and on keys of its own.
# `make demo` and the test run turn it on.
DEBUG = env_bool("DEBUG", False)
# The published development keys: defaults only when DEBUG is on; the system checks
# (accounts/checks.py) refuse them whenever DEBUG is off and under `check --deploy`.
DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"  # noqa: S105
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "dGhpcy1pcy1hLWRldi1vbmx5LWtleS0zMmJ5dGVzISE="
SECRET_KEY = env_secret("SECRET_KEY", DEVELOPMENT_SECRET_KEY, required_when=not DEBUG)
FIELD_ENCRYPTION_KEY = env_secret(
    # A Fernet key (or several, comma-separated: the first encrypts, all decrypt).
    "FIELD_ENCRYPTION_KEY",
    DEVELOPMENT_FIELD_ENCRYPTION_KEY,
    required_when=not DEBUG,
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
WECHAT_API_BASE = env_str("WECHAT_API_BASE", "http://127.0.0.1:8701")
# The sandbox answers a control API next to the platform's; "test connection" then asks
# it to call our callback URL the way WeChat does when an admin saves the configuration.
WECHAT_SANDBOX = env_bool(
    "WECHAT_SANDBOX", WECHAT_API_BASE.startswith(("http://127.0.0.1", "http://localhost"))
)
# The third-party platform's consent page: the sandbox's in the demo,
# https://mp.weixin.qq.com/cgi-bin/componentloginpage in production.
WECHAT_CONSENT_URL = env_str(
    "WECHAT_CONSENT_URL", f"{WECHAT_API_BASE.rstrip('/')}/cgi-bin/componentloginpage"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "followers",
    "messaging",
    "routing",
    "analytics",
    # CSV import and export of customers and followers (followers.csv_*): its dry runs.
    "import_export",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.ScopeMiddleware",
    "accounts.time_zone_middleware.TimeZoneMiddleware",
    "accounts.middleware.RequireBrandMfaMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.scope",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The embedded SQLite demo cannot enforce "one prepared response per key and language"
# across NULL accounts (PostgreSQL does, NULLS NOT DISTINCT); the service checks it too.
_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
if _SQLITE:
    # The demo's eager tasks write from the batch threads while requests write too: a
    # transaction takes SQLite's write lock when it begins (IMMEDIATE), so a second
    # writer waits for it (up to `timeout` seconds) instead of failing at once with
    # "database is locked" when a read-then-write transaction cannot upgrade its lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20})
SILENCED_SYSTEM_CHECKS = ["models.W047"] if _SQLITE else []
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env_str("REDIS_URL", "")
# Routing keeps a brand's rules, teams, hours and settings this many seconds across its
# batches (routing/shared_reads.py): an admin's change reaches live routing within it.
ROUTING_CONFIG_SECONDS = env_int("ROUTING_CONFIG_SECONDS", 2)
# How the console's push reaches the screens: "brand" sends one channel-layer message per
# event to the brand's group, carrying the audience the visibility rule computed (each
# socket keeps what is addressed to it); "agent" sends one per member of the audience to
# their own group, the previous way, kept as the benchmark's baseline.
CONSOLE_FANOUT = env_str("CONSOLE_FANOUT", "brand")
# Which channels_redis layer carries it: "pubsub" (Redis PUBLISH/SUBSCRIBE) or "redis" (the
# core layer: sorted sets read with BZPOPMIN). bench/console.py compares them: pub/sub did
# the same work with 40% fewer Redis commands and less CPU, at a lower latency.
CONSOLE_LAYER = env_str("CONSOLE_LAYER", "pubsub")
_CONSOLE_LAYERS = {
    "redis": "routing.layers.ConsoleRedisChannelLayer",
    "pubsub": "routing.layers.ConsolePubSubChannelLayer",
}
if CONSOLE_FANOUT not in ("brand", "agent"):
    raise ImproperlyConfiguredEnv(f"CONSOLE_FANOUT={CONSOLE_FANOUT!r}: use brand or agent")
if CONSOLE_LAYER not in _CONSOLE_LAYERS:
    raise ImproperlyConfiguredEnv(f"CONSOLE_LAYER={CONSOLE_LAYER!r}: use redis or pubsub")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis (CONSOLE_LAYER above), hardened against Redis faults and with
            # numbered brand streams: routing/layers.py.
            "BACKEND": _CONSOLE_LAYERS[CONSOLE_LAYER],
            # Reads wait longer than the core layer's 5 s BZPOPMIN, or every idle socket
            # times out. In the core layer, capacity and expiry bound the backlog of one
            # *server process* (all its sockets share one Redis key), not of one socket:
            # the brand fan-out puts one message there per event, so 1,000 is half a
            # minute of a busy brand. What is dropped beyond it (or expires) is logged,
            # and the sockets see the gap in the stream's numbers and resync.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "capacity": 1000,
                "expiry": 30,
                # Pub/sub channels ignore the database number: without it in the prefix,
                # two portals (or test runs) on one Redis server would hear each other.
                "prefix": f"asgi{urlsplit(REDIS_URL).path.strip('/') or '0'}",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "routing.layers.ConsoleInMemoryChannelLayer"}}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Every task is idempotent (a claim by conditional update), so one whose worker process
# died under it (the OOM killer, a crash) is handed out again rather than dropped.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection before and after every task
# unless this is set: a new PostgreSQL connection, and a new server process, for every
# task. With it, a pool process keeps its connection across tasks and drops it every this
# many tasks (tests/test_worker_connections.py); around each task
# `config.celery` drops one that is broken, left in a transaction or older than
# CONN_MAX_AGE, as Django does around a request.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 500)
# A task taken by a worker that died before acknowledging it (acks late) is handed out
# again once it has been out this many seconds: with the workers looking for such tasks
# every 5 s (kombu's default is 100 s), a killed worker's tasks run again within a minute.
# Past it the Redis transport hands out again a task still waiting for its countdown, or
# still at work: countdowns stay under 30 s (messaging.tasks.LONGEST_COUNTDOWN; longer
# waits, like a reply's retries, are kept in the database), batches hand on their rest
# after 20 s, and a run that overstays finds its rows claimed by the first.
_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 50)
if _visibility_timeout < 1:
    raise ImproperlyConfiguredEnv(
        f"CELERY_VISIBILITY_TIMEOUT={_visibility_timeout} must be at least 1 second")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility_timeout,
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
# Routing's tasks have a queue of their own, so placing a conversation (a follower is
# waiting) never waits behind a backlog of console pushes or media fetches. Every worker
# of the Procfile's `worker` consumes both queues; `router` adds workers for routing only.
CELERY_TASK_ROUTES = {"routing.tasks_assignment.*": {"queue": "routing"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# Workers log through LOGGING's handler (JSON lines, redacted) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict = {
    # Renew access tokens before they expire, so requests rarely wait for one.
    "tokens-refresh-due": {"task": "accounts.tasks.tokens_refresh_due_task", "schedule": 60.0},
    # Queue deliveries left unprocessed (a lost task, a broker outage), topping the queue
    # up while a backlog lasts.
    "inbound-sweep": {"task": "messaging.tasks.inbound_sweep_task", "schedule": 15.0},
    # Queue replies whose retry is due or whose task was lost, fail those a dead worker
    # left sending; wake snoozed conversations that are due.
    "message-send-sweep": {"task": "messaging.tasks.message_send_sweep_task", "schedule": 15.0},
    "conversations-wake": {"task": "messaging.tasks.conversations_wake_task", "schedule": 60.0},
    # Routing's safety net: route conversations a lost task left unrouted, drain queues
    # that have a free agent.
    "routing-sweep": {"task": "routing.tasks_assignment.routing_sweep_task", "schedule": 15.0},
    # Transfers nobody answered in time go back (to the sender or the queue).
    "transfers-expire": {"task": "routing.tasks_transfers.transfers_expire_task",
                         "schedule": 15.0},
    # Response targets (due times, breaches), overflow after waiting and its return,
    # idle conversations resolved.
    "routing-targets": {"task": "routing.tasks_targets.targets_sweep_task", "schedule": 30.0},
    # The CRM: follower syncs a quota paused go on when the day's budget is back (and a
    # sync a dead worker left is picked up); behaviour tag rules; the unfollowers' personal
    # data erased after the brand's retention period.
    "crm-sync-resume": {"task": "followers.tasks_sync.sync_resume_task", "schedule": 300.0},
    "crm-behaviour-rules": {"task": "followers.tasks_tags.behaviour_rules_task",
                            "schedule": 600.0},
    "crm-retention-erase": {"task": "followers.tasks_campaigns.retention_erase_task",
                            "schedule": 3600.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email is the login; nobody signs up on their own, members are invited.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "accounts.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
# Failed sign-ins (allauth's defaults, named): 10 a minute from one address, 5 in 5 minutes
# for one email. The lockout message says when to try again (accounts.adapters).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Rate limits key on the client's address. Behind the deploy/ nginx every request comes
# from 127.0.0.1, so one attacker would lock everyone out: count the proxies in front
# (1 behind deploy/nginx.conf) and allauth reads the address from X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/auth/login/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Brand Portal")

# Mail carries invitation and password-reset links, tokens included. The console backend
# (the demo's) prints them where the logs go; the memory, dummy and file backends keep or
# drop them. None of them may stand in for real mail when DEBUG is off.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
).strip()
_NOT_SENDING = {
    f"django.core.mail.backends.{name}.EmailBackend"
    for name in ("console", "locmem", "dummy", "filebased")
}
if not DEBUG and EMAIL_BACKEND in _NOT_SENDING:
    raise ImproperlyConfiguredEnv(
        f"EMAIL_BACKEND must send mail when DEBUG is off, not {EMAIL_BACKEND}: set "
        "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (with EMAIL_HOST, "
        "EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) or another "
        "backend that delivers"
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The zone of a visitor of no brand. Members read times in their own zone or their brand's
# (accounts/time_zone_middleware.py); log lines are stamped in UTC, marked "Z".
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# 24-hour times wherever a page formats a datetime itself (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media (the images and files followers send, agents' image uploads) is read and written
# only through Django's storage API and served only by the scoped media route, so any
# backend works: the local MEDIA_ROOT by default; one that every host shares (S3-compatible
# through django-storages, the `s3` extra) when web and worker processes run apart.
STORAGES = {
    "default": {
        "BACKEND": env_import_path(
            "MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env_json("MEDIA_STORAGE_OPTIONS", {}),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# Requests a minute each brand API key may send (429 and Retry-After beyond); 0 turns the
# limit off.
API_KEY_REQUESTS_PER_MINUTE = env_int("API_KEY_REQUESTS_PER_MINUTE", 600)
if API_KEY_REQUESTS_PER_MINUTE < 0:
    raise ImproperlyConfiguredEnv("API_KEY_REQUESTS_PER_MINUTE must be 0 (off) or more")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "accounts.pagination.Pagination",
    # JSON bodies; the one upload (an image reply) adds multipart on its action.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, refusing a boolean it does not know (accounts.api_filters).
        "accounts.api_filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # Every operation documents the errors it answers (accounts.api_schema).
    "DEFAULT_SCHEMA_CLASS": "accounts.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_base.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": f"{API_KEY_REQUESTS_PER_MINUTE}/min" if API_KEY_REQUESTS_PER_MINUTE else None,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Brand Portal API",
    "DESCRIPTION": "Brand-scoped REST API. Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set that several fields share (and tell apart the sets that
    # share a field name), so the schema names each enum once.
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": "messaging.prepared.LANGUAGES",
        "TeamLanguageEnum": "accounts.forms.LANGUAGE_CHOICES",
        "TimeZoneEnum": "accounts.time_zones.TIME_ZONE_CHOICES",
        "AccountKindEnum": "accounts.models.OfficialAccount.Kind",
        "TransferPathEnum": ["relay", "continue", "invite"],
    },
}

# Production hardening; DEBUG=0 turns it on, each knob can still be set by env.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
# Every line is redacted of invitation and reset links, API keys and the platform's tokens
# and secrets (config/redact.py); the servers' own access logs get the same filter.
LOGGING_CONFIG = "config.redact.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.redact.RedactingJsonFormatter"},
        "text": {
            "()": "config.redact.RedactingFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default handlers for these (a console one when DEBUG is on) would
        # print the same lines again, unredacted: they go through the root's handler.
        "django": {"handlers": []},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
