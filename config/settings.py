"""Zhongcao settings: the environment is read once, here.

With no environment set, everything runs embedded: SQLite under ``var/``, Celery in eager mode,
local-memory cache and local media files. Setting ``DATABASE_URL``, ``REDIS_URL``,
``CELERY_BROKER_URL`` and ``AWS_STORAGE_BUCKET_NAME`` switches each piece to its real service.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

INSECURE_SECRET_KEY = "django-insecure-zhongcao-dev-only-change-me"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or INSECURE_SECRET_KEY
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured("DEBUG=False needs a real SECRET_KEY in the environment.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "accounts",
    "notes",
    "shop",
]

MIDDLEWARE = [
    "config.middleware.ReleaseRequestMiddleware",  # first: it runs last, once the response is rendered
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.PageMessageMiddleware",  # Django's, but not under /api/
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # Checked before each request's first query, by looking at the socket, not by a round trip.
    DATABASES["default"]["ENGINE"] = "config.postgres"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters sent apart from the SQL, and a query run a fifth time becomes a prepared statement:
    # the hot reads' plans (0.8-1.4 ms of planning each) are then made once per connection. Off
    # behind a transaction-pooling PgBouncer, which cannot keep prepared statements.
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
else:
    VAR_DIR.mkdir(exist_ok=True)
    # WAL + a busy timeout let the dev server, eager tasks and tests share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache and Redis ------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="zc"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in process so the embedded mode needs no services (the in-memory
# transport is named only so that kombu does not go looking for an AMQP server on localhost).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "notes-publish-due": {"task": "notes.tasks.notes_publish_due", "schedule": 60.0},
    "trending-rollup": {"task": "notes.tasks.trending_rollup", "schedule": 300.0},
    "feeds-score-changed": {"task": "notes.tasks.feeds_score_changed", "schedule": 30.0},
    "feeds-decay-pass": {"task": "notes.tasks.feeds_decay_pass", "schedule": 600.0},
    "feeds-trim": {"task": "notes.tasks.feeds_trim", "schedule": 3600.0},
    "orders-expire-due": {"task": "shop.tasks.orders_expire_due", "schedule": 60.0},
    "orders-advance-due": {"task": "shop.tasks.orders_advance_due", "schedule": 3600.0},
    "idempotency-keys-purge": {"task": "shop.tasks.idempotency_keys_purge", "schedule": 3600.0},
    "payments-refund-resend": {"task": "shop.tasks.payments_refund_resend", "schedule": 300.0},
}

# --- Storage --------------------------------------------------------------------------------
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATIC_URL = "/static/"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=None)
    AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default=None)
    AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", default=False)
    AWS_DEFAULT_ACL = None
    AWS_S3_FILE_OVERWRITE = False
    DEFAULT_STORAGE = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Auth: django-allauth headless with JWT tokens -------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login": env.str("RATE_LIMIT_LOGIN", default="30/m/ip"),
    "login_failed": env.str("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env.str("RATE_LIMIT_SIGNUP", default="20/m/ip"),
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"
HEADLESS_JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
HEADLESS_JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="")
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("JWT_ACCESS_TOKEN_LIFETIME", default=300)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("JWT_REFRESH_TOKEN_LIFETIME", default=86400 * 14)
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": env.str(
        "FRONTEND_VERIFY_EMAIL_URL", default="zhongcao://account/verify-email/{key}"
    ),
    "account_reset_password_from_key": env.str(
        "FRONTEND_RESET_PASSWORD_URL", default="zhongcao://account/password/reset/key/{key}"
    ),
    "account_signup": env.str("FRONTEND_SIGNUP_URL", default="zhongcao://account/signup"),
}
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Zhongcao <no-reply@zhongcao.local>")

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exceptions.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.renderers.Negotiation",
    "DEFAULT_RENDERER_CLASSES": ["config.api.renderers.FastJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api.throttling.AnonThrottle",
        "config.api.throttling.UserWriteThrottle",
        "config.api.throttling.WriteScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="300/min"),
        "user_write": env.str("THROTTLE_USER_WRITE", default="120/min"),
        "follow": env.str("THROTTLE_FOLLOW", default="60/min"),
        "report": env.str("THROTTLE_REPORT", default="30/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_PAGE_SIZE = 20
API_MAX_PAGE_SIZE = 100

SPECTACULAR_SETTINGS = {
    "TITLE": "Zhongcao API",
    "DESCRIPTION": (
        "REST API of Zhongcao. Authenticate through django-allauth headless "
        "(`/_allauth/app/v1/auth/login`) and send `Authorization: Bearer <access_token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PATH_CONVERTER_OVERRIDES": {"id": int},  # config.api.converters.IdConverter
    "ENUM_NAME_OVERRIDES": {
        "CategoryEnum": "accounts.choices.Category",
        "AudienceEnum": "accounts.choices.Audience",
        "ReviewStatusEnum": "accounts.choices.ReviewStatus",
        "GenderEnum": "accounts.choices.Gender",
        "NotificationVerbEnum": "accounts.choices.NotificationVerb",
        "MediaKindEnum": "notes.choices.MediaKind",
        "MediaStatusEnum": "notes.choices.MediaStatus",
        "OrderStatusEnum": "shop.choices.OrderStatus",
        "PaymentStatusEnum": "shop.choices.PaymentStatus",
        "AfterSaleStatusEnum": "shop.choices.AfterSaleStatus",
        "ProductStatusEnum": "shop.choices.ProductStatus",
    },
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-session-token",
    "x-csrftoken",
)

# --- Uploads --------------------------------------------------------------------------------
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=50_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
# Uploaded files above this size are streamed to a temporary file instead of held in memory, so a
# 200 MiB video costs a worker disk, not RAM. (It does not cap the file size: the MEDIA_* limits do.)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# PostgreSQL: a signed-in read takes its user from the web process's copy of the row, kept this long
# at most; any change but a counter's reaches every process at its commit (accounts.usercache).
USER_CACHE_SECONDS = env.int("USER_CACHE_SECONDS", default=60)

# Notes media pipeline: checked at upload, before anything is decoded or stored.
MEDIA_MAX_IMAGE_BYTES = env.int("MEDIA_MAX_IMAGE_BYTES", default=20 * 1024 * 1024)
MEDIA_MAX_VIDEO_BYTES = env.int("MEDIA_MAX_VIDEO_BYTES", default=200 * 1024 * 1024)
MEDIA_MAX_VIDEO_SECONDS = env.int("MEDIA_MAX_VIDEO_SECONDS", default=300)
# Below Pillow's own bomb limit (~89 MP). Phones save 12-24 MP by default; 48+ MP "full
# resolution" modes are refused rather than decoded at 200 MB or more of RAM per photo.
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=40_000_000)
NOTE_MAX_IMAGES = env.int("NOTE_MAX_IMAGES", default=18)
# A published note's rendered media, topics, mentions and product tags are cached (keyed by its last
# edit); what they point at (product prices, nicknames) may lag by this much.
NOTE_ATTACHMENTS_CACHE_SECONDS = env.int("NOTE_ATTACHMENTS_CACHE_SECONDS", default=60)

# --- Search and trending --------------------------------------------------------------------
# Deepest result a relevance- or popularity-sorted search pages to (offset pagination).
SEARCH_MAX_RESULTS = env.int("SEARCH_MAX_RESULTS", default=1000)
# Newest matching documents a search ranks (bounds the work of very common words).
SEARCH_CANDIDATES = env.int("SEARCH_CANDIDATES", default=2000)
SEARCH_HISTORY_LIMIT = env.int("SEARCH_HISTORY_LIMIT", default=20)  # queries shown per user
SEARCH_HISTORY_DAYS = env.int("SEARCH_HISTORY_DAYS", default=90)  # older entries are pruned
SEARCH_SUGGEST_LIMIT = env.int("SEARCH_SUGGEST_LIMIT", default=10)
# Hot searches and hot topics: counts per bucket, summed over the window with a half-life decay.
TRENDING_BUCKET_SECONDS = env.int("TRENDING_BUCKET_SECONDS", default=3600)
TRENDING_WINDOW_HOURS = env.int("TRENDING_WINDOW_HOURS", default=24)
TRENDING_HALF_LIFE_HOURS = env.float("TRENDING_HALF_LIFE_HOURS", default=6.0)  # 0: plain sum
TRENDING_KEEP = env.int("TRENDING_KEEP", default=200)  # hot searches / hot topics kept per roll-up

# --- Feeds ----------------------------------------------------------------------------------
# Timelines, discovery scores and seen sets live in Redis when it is configured, else in the database.
FEED_BACKEND = env.str("FEED_BACKEND", default="redis" if REDIS_URL else "db")
FEED_REDIS_URL = env.str("FEED_REDIS_URL", default=REDIS_URL)
FEED_REDIS_PREFIX = env.str("FEED_REDIS_PREFIX", default="feed:")
FEED_TIMELINE_MAX = env.int("FEED_TIMELINE_MAX", default=800)  # note ids kept per timeline
# Authors with this many followers are not fanned out to; their followers pull their notes at read
# time. Reads pull authors above half of it, so an author hovering at the line loses nothing.
FEED_PULL_THRESHOLD = env.int("FEED_PULL_THRESHOLD", default=20_000)
FEED_PULL_CACHE_SECONDS = env.int("FEED_PULL_CACHE_SECONDS", default=60)
FEED_BACKFILL = env.int("FEED_BACKFILL", default=20)  # recent notes a new follow brings in
FEED_AUTHOR_DIVERSITY = env.int("FEED_AUTHOR_DIVERSITY", default=2)  # notes per author per page
FEED_DISCOVER_CANDIDATES = env.int("FEED_DISCOVER_CANDIDATES", default=200)
# A reader's next discovery pages come from what their last page ranked (Redis), this many at most,
# for this long at most (and only while no score and none of their interests changed); 0: no pools.
FEED_DISCOVER_POOL = env.int("FEED_DISCOVER_POOL", default=100)
FEED_DISCOVER_POOL_SECONDS = env.int("FEED_DISCOVER_POOL_SECONDS", default=60)
FEED_SEEN_DAYS = env.int("FEED_SEEN_DAYS", default=3)  # served notes are skipped this long
FEED_SEEN_MAX = env.int("FEED_SEEN_MAX", default=1000)  # newest served notes remembered per reader
FEED_RANK_HALF_LIFE_HOURS = env.float("FEED_RANK_HALF_LIFE_HOURS", default=36.0)
FEED_NEW_NOTE_HOURS = env.float("FEED_NEW_NOTE_HOURS", default=12.0)  # the new-note boost fades over this
FEED_DECAY_WINDOW_HOURS = env.int("FEED_DECAY_WINDOW_HOURS", default=48)
FEED_NEARBY_RADIUS_KM = env.float("FEED_NEARBY_RADIUS_KM", default=5.0)
FEED_NEARBY_MAX_RADIUS_KM = env.float("FEED_NEARBY_MAX_RADIUS_KM", default=50.0)
# Where the ads app slots sponsored items into a discovery page (0-based positions), and the
# dotted path of its provider; no provider, no ads.
FEED_AD_SLOTS = env.list("FEED_AD_SLOTS", cast=int, default=[3, 11])
FEED_ADS_PROVIDER = env.str("FEED_ADS_PROVIDER", default="")

# --- Shop: checkout, orders and payments ----------------------------------------------------
SHOP_SHIPPING_FEE = env.str("SHOP_SHIPPING_FEE", default="10.00")  # per store order, CNY
SHOP_FREE_SHIPPING_FROM = env.str("SHOP_FREE_SHIPPING_FROM", default="99.00")  # store subtotal, CNY
SHOP_PAYMENT_MINUTES = env.int("SHOP_PAYMENT_MINUTES", default=30)  # unpaid orders expire after this
SHOP_AUTO_CONFIRM_DAYS = env.int("SHOP_AUTO_CONFIRM_DAYS", default=10)  # shipped -> delivered
SHOP_AFTER_SALES_DAYS = env.int("SHOP_AFTER_SALES_DAYS", default=7)  # then delivered -> completed
SHOP_CART_MAX_ITEMS = env.int("SHOP_CART_MAX_ITEMS", default=100)
SHOP_MAX_ADDRESSES = env.int("SHOP_MAX_ADDRESSES", default=20)
# Idempotency keys are kept at least this long; a repeat waits this long for the first request
# (PostgreSQL) before answering 409.
SHOP_IDEMPOTENCY_HOURS = max(24, env.int("SHOP_IDEMPOTENCY_HOURS", default=24))
SHOP_IDEMPOTENCY_WAIT_MS = env.int("SHOP_IDEMPOTENCY_WAIT_MS", default=10_000)
SHOP_SANDBOX_WEBHOOK_SECRET = env.str("SHOP_SANDBOX_WEBHOOK_SECRET", default="zhongcao-sandbox-dev-secret")
SHOP_WEBHOOK_TOLERANCE_SECONDS = env.int("SHOP_WEBHOOK_TOLERANCE_SECONDS", default=300)
SHOP_PAYMENT_PROVIDERS = {"sandbox": "shop.payments.sandbox.SandboxProvider"}

# --- I18n, security, logging ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# `make bench` mounts its F_http floor (a bare JsonResponse view at /_bench/http). Never in production.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)

SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
)
