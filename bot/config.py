"""The app's configuration: one settings object, read from the environment (and a .env file).

Every variable is listed in README.md and .env.example.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import DEFAULT_DATABASE_URL


RATE_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(value: str) -> tuple[int, int]:
    """``"60/minute"`` -> (60, 60); ValueError for anything else."""
    count, _, period = (value or "").strip().lower().partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip() not in RATE_PERIODS:
        raise ValueError(f"a rate is N/second, N/minute, N/hour or N/day (N at least 1), not {value!r}")
    return int(count), RATE_PERIODS[period.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # store
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")

    # the app's HTTP server (simulator, REST API, action endpoint, provider webhooks)
    app_host: str = Field(default="127.0.0.1", alias="APP_HOST")
    app_port: int = Field(default=8000, alias="APP_PORT")

    # the Rasa engine (listens on loopback only: its channel endpoints take no token)
    rasa_port: int = Field(default=5005, alias="RASA_PORT")
    # where the app reaches Rasa; defaults to the loopback port `aduan run` starts it on
    rasa_url: str = Field(default="", alias="RASA_URL")
    # several Rasa servers, comma-separated (wins over RASA_URL); each conversation keeps to one
    rasa_urls_setting: str = Field(default="", alias="RASA_URLS")
    rasa_token: str = Field(default="", alias="RASA_TOKEN")
    rasa_timeout_seconds: float = Field(default=30.0, alias="RASA_TIMEOUT_SECONDS")
    # shared secret Rasa sends to the app's action endpoint (?token=...)
    actions_token: str = Field(default="", alias="ACTIONS_TOKEN")
    model_dir: str = Field(default="models", alias="RASA_MODEL_DIR")
    # Rasa's tracker store (read by endpoints.yml); SQLite by default
    rasa_tracker_dialect: str = Field(default="sqlite", alias="RASA_TRACKER_DIALECT")
    rasa_tracker_host: str = Field(default="", alias="RASA_TRACKER_HOST")
    rasa_tracker_db: str = Field(default="var/rasa_tracker.db", alias="RASA_TRACKER_DB")
    rasa_tracker_user: str = Field(default="", alias="RASA_TRACKER_USER")
    rasa_tracker_password: str = Field(default="", alias="RASA_TRACKER_PASSWORD")
    # the database Rasa connects to first to create RASA_TRACKER_DB when it is missing (PostgreSQL)
    rasa_tracker_login_db: str = Field(default="", alias="RASA_TRACKER_LOGIN_DB")
    # Redis, for Rasa's lock store when several Rasa servers run (redis://host:port/db)
    redis_url: str = Field(default="", alias="REDIS_URL")
    # where Rasa calls the custom actions; defaults to this app on loopback
    action_endpoint_url: str = Field(default="", alias="ACTION_ENDPOINT_URL")

    # the public base URL providers call (webhooks); used by the provider adapters
    public_base_url: str = Field(default="", alias="PUBLIC_BASE_URL")

    # providers: a channel whose credentials are absent is off
    twilio_account_sid: str = Field(default="", alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field(default="", alias="TWILIO_AUTH_TOKEN")
    twilio_sms_from: str = Field(default="", alias="TWILIO_SMS_FROM")
    twilio_whatsapp_from: str = Field(default="", alias="TWILIO_WHATSAPP_FROM")
    twilio_api_url: str = Field(default="", alias="TWILIO_API_URL")
    # approved WhatsApp template (Content SID, one variable {{1}}) for pushes outside the 24-hour window
    twilio_whatsapp_template_sid: str = Field(default="", alias="TWILIO_WHATSAPP_TEMPLATE_SID")
    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_secret: str = Field(default="", alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_url: str = Field(default="", alias="TELEGRAM_API_URL")
    # webhook (needs PUBLIC_BASE_URL) or polling (local development); default: webhook when a public URL is set
    telegram_mode: str = Field(default="", alias="TELEGRAM_MODE")

    # signs the links in officers' notifications to a citizen's photos and files (GET /media/...);
    # without it (or without PUBLIC_BASE_URL) notifications list attachments without links
    media_link_secret: str = Field(default="", alias="MEDIA_LINK_SECRET")

    # the simulator channel (demos, officer training, end-to-end tests). Unset: on for a local run,
    # off once PUBLIC_BASE_URL is set (anyone who reaches the app could file real complaints through
    # it); an explicit true/false wins. Read the effective value from ``simulator_enabled``.
    simulator_setting: bool | None = Field(default=None, alias="SIMULATOR_ENABLED")

    # the dispatcher: attempts before an outgoing message is marked failed; with the backoff (5 s doubling
    # up to 10 min) 10 attempts bridge about half an hour of provider outage
    send_max_attempts: int = Field(default=10, alias="SEND_MAX_ATTEMPTS")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # worker processes that read free text (place, category) off the app's GIL; 0: on the app's threads
    reading_workers: int = Field(default=1, ge=0, alias="READING_WORKERS")
    # requests (POSTs) each Open311 key may send per window, "N/second|minute|hour|day"; over it, 429
    open311_key_rate: str = Field(default="60/minute", alias="OPEN311_KEY_RATE")
    # public reads (GET /t/..., keyless Open311 reads) use at most this many of the app's store
    # connections at once (of 20 on PostgreSQL): the webhooks keep the rest; beyond it, a 503
    public_read_pool_size: int = Field(default=4, ge=1, alias="PUBLIC_READ_POOL_SIZE")
    # how often the store and the Rasa servers are asked for /health and /health/ready (which answer
    # from the last answers, so that a flood of hits asks neither)
    health_refresh_seconds: float = Field(default=2.0, gt=0, alias="HEALTH_REFRESH_SECONDS")

    @field_validator("open311_key_rate")
    @classmethod
    def _rate_is_readable(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def open311_key_limit(self) -> tuple[int, int]:
        """OPEN311_KEY_RATE as (requests, window in seconds)."""
        return parse_rate(self.open311_key_rate)

    @field_validator("simulator_setting", mode="before")
    @classmethod
    def _unset_when_empty(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _default_rasa_url(self) -> "Settings":
        if not self.rasa_url:
            self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"
        if not self.action_endpoint_url:
            self.action_endpoint_url = f"http://127.0.0.1:{self.app_port}/webhook"
        return self

    @property
    def rasa_urls(self) -> list[str]:
        """The Rasa servers the app talks to: RASA_URLS, else RASA_URL (or the default port)."""
        urls = [url.strip() for url in self.rasa_urls_setting.split(",") if url.strip()]
        return urls or [self.rasa_url]

    @property
    def simulator_enabled(self) -> bool:
        """The simulator is on for a local run, off on a public deployment unless asked for explicitly."""
        if self.simulator_setting is not None:
            return self.simulator_setting
        return not self.public_base_url

    @property
    def simulator_exposed(self) -> bool:
        """On although the app is public (``SIMULATOR_ENABLED=true`` with ``PUBLIC_BASE_URL``): worth a warning."""
        return self.simulator_enabled and bool(self.public_base_url)

    def _simulator_status(self) -> str:
        if self.simulator_exposed:
            return "on (SIMULATOR_ENABLED=true on a public deployment: anyone can file through it)"
        if self.simulator_enabled:
            return "on"
        if self.simulator_setting is False:
            return "off (SIMULATOR_ENABLED=false)"
        return "off (PUBLIC_BASE_URL is set; SIMULATOR_ENABLED=true turns it on)"

    @property
    def telegram_polling(self) -> bool:
        if self.telegram_mode:
            return self.telegram_mode == "polling"
        return not self.public_base_url

    def channel_status(self) -> dict[str, str]:
        """Which channels are on, for start-up logs and /health."""
        twilio = bool(self.twilio_account_sid and self.twilio_auth_token)
        telegram = "off (no TELEGRAM_BOT_TOKEN)"
        if self.telegram_bot_token:
            telegram = "on (polling)" if self.telegram_polling else "on (webhook)"
        return {
            "simulator": self._simulator_status(),
            "sms": "on" if twilio and self.twilio_sms_from else "off (no Twilio credentials or TWILIO_SMS_FROM)",
            "whatsapp": "on" if twilio and self.twilio_whatsapp_from else "off (no Twilio credentials or TWILIO_WHATSAPP_FROM)",
            "telegram": telegram,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
