"""Django settings for the inspection platform.

Everything that differs between installations comes from environment
variables (see README.md, "Configuration"); a bad value stops the process at
start with ImproperlyConfigured naming the variable. With nothing set, the
platform runs on SQLite and a folder-based message broker under ./var/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kombu import Exchange, Queue

from config.env import (
    broker_from_env,
    database_from_env,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_path,
    env_str,
    secret_key_from_env,
)

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key_from_env(VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a TLS-terminating proxy, set SECURE_COOKIES=true.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "auditlog",
    "axes",
    # Swagger UI served from our own static files, not a CDN.
    "drf_spectacular_sidecar",
    "django_filters",
    "inspection",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "inspection.api.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who did it, for every audit log entry written while answering the request.
    "inspection.audit.AuditActorMiddleware",
    # The role table (inspection.permissions) for the pages; API views check it through DRF.
    "inspection.permissions.RolePermissionMiddleware",
    # Last, so that it sees the lockout flag set while signing in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # `user|can:"codename"` and `{% disabled_unless_can "codename" %}` in every template.
            "builtins": ["inspection.templatetags.roles"],
        },
    },
]

DATABASES = {"default": database_from_env(VAR_DIR / "db.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out account before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "product-list-page"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the source folders when collectstatic has not run (local use).
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
# Images, inspection results and model bundles go through this storage. The
# default is a folder (MEDIA_ROOT) that web and workers share; set
# MEDIA_STORAGE_BACKEND=storages.backends.s3.S3Storage (django-storages) and
# MEDIA_STORAGE_OPTIONS='{"bucket_name": ..., "endpoint_url": ...}' for an
# S3-compatible store (README: "Shared storage").
STORAGES = {
    "default": {
        "BACKEND": env_str("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object("MEDIA_STORAGE_OPTIONS", {}),
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Uploads --------------------------------------------------------------
# Requests larger than this are refused with 413 before they are read.
UPLOAD_MAX_REQUEST_BYTES = env_int("UPLOAD_MAX_REQUEST_BYTES", 1024 * 1024 * 1024, minimum=1024)
# Django refuses more files or form fields than these in one request.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UPLOAD_MAX_FILES", 2000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)
# Larger uploads spool to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Images whose header declares more pixels are refused before decoding.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 64_000_000, minimum=1)
# Zip archives: limits that stop zip bombs before anything is decompressed.
ZIP_MAX_MEMBERS = env_int("ZIP_MAX_MEMBERS", 20_000, minimum=1)
ZIP_MAX_TOTAL_BYTES = env_int("ZIP_MAX_TOTAL_BYTES", 4 * 1024 * 1024 * 1024, minimum=1024)
ZIP_MAX_COMPRESSION_RATIO = env_int("ZIP_MAX_COMPRESSION_RATIO", 200, minimum=1)

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The role table, inspection.permissions.PERMISSION_TABLE; it also refuses the anonymous.
    "DEFAULT_PERMISSION_CLASSES": ["inspection.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "inspection.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "inspection.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Visual inspection platform API",
    "DESCRIPTION": "Products, their images and the background jobs that process them.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or "decision" with different choices.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "inspection.models.Job.Status",
        "ModelVersionStatusEnum": "inspection.models.ModelVersion.Status",
        "InspectionStatusEnum": "inspection.models.Inspection.Status",
        "InspectionDecisionEnum": "inspection.models.Inspection.Decision",
        "ReviewItemStatusEnum": "inspection.models.ReviewItem.Status",
        "ReviewVerdictEnum": "inspection.models.ReviewItem.Verdict",
    },
    # The documentation page loads its scripts from our static files, so
    # it works on a line network without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Sign-in protection (django-axes) and the audit log (django-auditlog) ----
# After this many failed sign-ins for one user name from one address, that pair
# is locked out for SIGN_IN_LOCKOUT_MINUTES; an administrator can lift it on the Users page.
AXES_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGN_IN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
AXES_VERBOSE = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- Background jobs (Celery) ---------------------------------------------
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = broker_from_env(VAR_DIR)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Job state lives in the Job table; nothing reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A worker takes one job at a time and acknowledges it only when done, so a
# job whose worker process dies goes back to the queue instead of vanishing.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# How long a worker waits for a killed child process's last words before
# declaring the job lost and requeueing it. Job state is in the database, not
# in those words, so there is no reason to wait Celery's default 10 seconds.
CELERY_WORKER_LOST_WAIT = 2.0
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
# "default" carries light jobs, "engine" the heavy machine-learning ones, so a
# deployment can give the engine queue its own, bigger workers (-Q engine).
CELERY_TASK_QUEUES = (
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("engine", Exchange("engine"), routing_key="engine"),
)
CELERY_TASK_ROUTES = {
    "inspection.register_images": {"queue": "default"},
    "inspection.train_model_version": {"queue": "engine"},
    "inspection.inspect_batch": {"queue": "engine"},
    "inspection.evaluate_pixels": {"queue": "engine"},
    "inspection.export_model_version": {"queue": "engine"},
}
# A worker process is replaced after this many jobs, which gives back the
# memory TensorFlow keeps after a training (engine workers run one job at a
# time: --concurrency=1 with the prefetch multiplier of 1 above).
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("WORKER_MAX_TASKS_PER_CHILD", 10, minimum=1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# A running job that has not reported for this long is marked failed.
JOB_HEARTBEAT_TIMEOUT = timedelta(seconds=env_int("JOB_HEARTBEAT_TIMEOUT", 300, minimum=10))
JOB_REAPER_INTERVAL_SECONDS = env_int("JOB_REAPER_INTERVAL", 60, minimum=5)
# A job redelivered after its worker died more often than this is given up.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {
        "task": "inspection.reap_stale_jobs",
        "schedule": JOB_REAPER_INTERVAL_SECONDS,
    },
}

# --- Models and inspection ------------------------------------------------
# Model bundles are stored as zips through STORAGES["default"]; each process
# unpacks a bundle once into this local folder (keyed by version and checksum).
MODEL_CACHE_DIR = env_path("MODEL_CACHE_DIR", VAR_DIR / "model-cache")
# Loaded models kept in memory per process (web: the synchronous inspection path).
MODEL_MEMORY_CACHE_SIZE = env_int("MODEL_MEMORY_CACHE_SIZE", 2, minimum=1)
# Seconds a synchronous inspection may wait for its turn on a model that other
# requests of the same process are using; after that it is answered 503
# (services.bundles.ModelBusy) instead of holding its connection open.
# The default lets 20 stations queue on one 1024 x 1024 model (about 2.4 s an
# image on two cores) with room for a busy CPU.
MODEL_WAIT_SECONDS = env_float("MODEL_WAIT_SECONDS", 120.0, minimum=0.1)
# Images a batch inspection job scores together.
INSPECTION_BATCH_CHUNK = env_int("INSPECTION_BATCH_CHUNK", 8, minimum=1)
# How long a reviewer's claim on a review item lasts.
REVIEW_CLAIM_TIMEOUT = timedelta(seconds=env_int("REVIEW_CLAIM_SECONDS", 900, minimum=10))

# --- Drift warning (README: "Drift warning") ------------------------------
# The scores of the last DRIFT_WINDOW parts the active version passed are
# compared with its good evaluation images' scores; a population stability
# index at or above DRIFT_PSI_LIMIT raises the warning. No judgement before
# DRIFT_MIN_PARTS passes (and 10 reference scores) are there.
DRIFT_WINDOW = env_int("DRIFT_WINDOW", 200, minimum=10)
DRIFT_MIN_PARTS = env_int("DRIFT_MIN_PARTS", 50, minimum=5)
DRIFT_PSI_LIMIT = env_float("DRIFT_PSI_LIMIT", 0.25, minimum=0.0)
DRIFT_CHECK_INTERVAL_SECONDS = env_int("DRIFT_CHECK_INTERVAL", 300, minimum=10)
CELERY_BEAT_SCHEDULE["check-drift"] = {"task": "inspection.check_drift", "schedule": DRIFT_CHECK_INTERVAL_SECONDS}
CELERY_TASK_ROUTES["inspection.check_drift"] = {"queue": "default"}
# The dashboard reads whole quarter hours of counts from a roll-up that this keeps current.
CELERY_BEAT_SCHEDULE["roll-up-inspection-counts"] = {"task": "inspection.roll_up_inspection_counts", "schedule": 300}
CELERY_TASK_ROUTES["inspection.roll_up_inspection_counts"] = {"queue": "default"}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
