"""One place for every setting; each can be overridden by an `XUEJIA_*` environment variable."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEMO_JWT_SECRET = "xuejia-demo-secret-change-me-0123456789"
# The payload codec's key ring (core/codec.py): `id:base64key,…`, the first key encrypts.
DEMO_CODEC_KEYS = "demo-1:T1upXcvGhAK4Y1jRXtyuNoNHn3hpNGjjGl6SyTQp8YY="
# Every subsystem that calls back signs with a secret of its own, so that one subsystem's key
# (a health centre's) cannot forge another's callbacks (a bank payment).
WEBHOOK_SUBSYSTEMS = ("bank", "health", "timing", "exam", "complaints", "enforcement")
DEMO_WEBHOOK_SECRETS = {name: f"xuejia-demo-{name}-webhook-secret" for name in WEBHOOK_SUBSYSTEMS}
# Each secret a deployment must set itself: its demo value is refused outside demo mode.
DEMO_SECRETS = {
    "jwt_secret": DEMO_JWT_SECRET,
    "codec_keys": DEMO_CODEC_KEYS,
    **{f"{name}_webhook_secret": secret for name, secret in DEMO_WEBHOOK_SECRETS.items()},
}
DEMO_PASSWORD = "xuejia123"  # every account demo mode seeds; refused outside demo mode


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XUEJIA_", env_file=".env", extra="ignore")

    # Demo mode loads demo data and allows the demo secrets; it is asked for (`make run` and the
    # tests set XUEJIA_DEMO_MODE=true), never the default. Outside it the app refuses to start
    # with a demo secret, and the demo accounts (the demo password) cannot sign in.
    demo_mode: bool = False
    demo_slots: bool = True  # in demo mode, also publish a week of practical slots
    # In demo mode, also a year of history (finished journeys, exams, reviews, complaints,
    # penalties, graduates' incidents) and a first publication of the index.
    demo_history: bool = True
    data_dir: Path = ROOT / "var"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "xuejia-journeys"

    database_url: str = f"sqlite:///{ROOT / 'var' / 'xuejia.db'}"

    api_base_url: str = "http://127.0.0.1:8000"
    national_url: str = "http://127.0.0.1:8101"
    health_url: str = "http://127.0.0.1:8102"
    bank_url: str = "http://127.0.0.1:8103"
    timing_url: str = "http://127.0.0.1:8104"
    exam_url: str = "http://127.0.0.1:8105"
    complaints_url: str = "http://127.0.0.1:8106"
    subsystem_timeout_seconds: float = 5.0
    # How often the Schedule pulls graduates' violations and accidents from 12123, in seconds.
    graduate_records_every: int = 86400

    jwt_secret: str = DEMO_JWT_SECRET
    jwt_minutes: int = 12 * 60
    codec_keys: str = DEMO_CODEC_KEYS
    bank_webhook_secret: str = DEMO_WEBHOOK_SECRETS["bank"]
    health_webhook_secret: str = DEMO_WEBHOOK_SECRETS["health"]
    timing_webhook_secret: str = DEMO_WEBHOOK_SECRETS["timing"]
    exam_webhook_secret: str = DEMO_WEBHOOK_SECRETS["exam"]
    complaints_webhook_secret: str = DEMO_WEBHOOK_SECRETS["complaints"]
    enforcement_webhook_secret: str = DEMO_WEBHOOK_SECRETS["enforcement"]

    # One policy file per city (its city_code inside); a journey runs under its school's city.
    policy_paths: list[Path] = [ROOT / "policy" / "demo.yaml", ROOT / "policy" / "fuzhou.yaml"]
    font_path: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

    # The pages (issue 11): the SMS gateway the sign-in codes go through, the Temporal Web UI
    # the regulator's stuck journeys link to, the session cookie and the sign-in rate limits.
    sms_url: str = "http://127.0.0.1:8108"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    session_hours: int = 12
    cookie_secure: bool = False  # True behind HTTPS: the cookie is then never sent in clear
    code_minutes: int = 5  # an SMS code's lifetime
    code_attempts: int = 5  # wrong guesses before a code is void
    code_interval_seconds: int = 60  # at most one code per phone per interval
    codes_per_phone_hour: int = 5
    codes_per_address_hour: int = 20
    login_failures_allowed: int = 5  # per username (and 10x per address) in the window
    login_window_minutes: int = 15

    # Ops (issue 12): logs as JSON lines (`text`: the same fields on a readable line, as
    # `make run` writes them); the worker's SDK metrics for Prometheus, on loopback by default
    # (empty: none); the API's own are at /metrics for the ops role.
    log_format: Literal["json", "text"] = "json"
    worker_metrics_address: str = "127.0.0.1:9464"
    # A Prometheus scraper's bearer token for the API's /metrics besides ops users' own (which
    # expire): empty, none; else at least 32 characters.
    metrics_token: str = ""

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> "Settings":
        if not self.demo_mode:
            for name, demo in DEMO_SECRETS.items():
                if getattr(self, name) == demo:
                    raise ValueError(f"XUEJIA_{name.upper()} must be set outside demo mode")
            if len(set(self.webhook_secrets().values())) < len(WEBHOOK_SUBSYSTEMS):
                raise ValueError("each subsystem needs its own XUEJIA_<NAME>_WEBHOOK_SECRET")
        if self.metrics_token and len(self.metrics_token) < 32:
            raise ValueError("XUEJIA_METRICS_TOKEN must be at least 32 characters")
        return self

    def webhook_secrets(self) -> dict[str, str]:
        """The secret each subsystem signs its callbacks with, by subsystem name."""
        return {name: getattr(self, f"{name}_webhook_secret") for name in WEBHOOK_SUBSYSTEMS}


@lru_cache
def get_settings() -> Settings:
    return Settings()
