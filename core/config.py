"""One place for every setting; each can be overridden by an `XUEJIA_*` environment variable."""

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEMO_JWT_SECRET = "xuejia-demo-secret-change-me-0123456789"
DEMO_WEBHOOK_SECRET = "xuejia-demo-webhook-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XUEJIA_", env_file=".env", extra="ignore")

    # Demo mode loads demo data and allows the demo secrets; production must set its own.
    demo_mode: bool = True
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
    webhook_secret: str = DEMO_WEBHOOK_SECRET

    # One policy file per city (its city_code inside); a journey runs under its school's city.
    policy_paths: list[Path] = [ROOT / "policy" / "demo.yaml", ROOT / "policy" / "fuzhou.yaml"]
    font_path: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> "Settings":
        if not self.demo_mode:
            for name, demo in (
                ("jwt_secret", DEMO_JWT_SECRET),
                ("webhook_secret", DEMO_WEBHOOK_SECRET),
            ):
                if getattr(self, name) == demo:
                    raise ValueError(f"XUEJIA_{name.upper()} must be set outside demo mode")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
