"""Shared set-up for the provider tests: the app with every channel on, against fake providers and a fake Rasa."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.config import Settings

PUBLIC_BASE_URL = "http://testserver"  # what the TestClient calls; Twilio signs the URL it calls
TELEGRAM_SECRET = "telegram-webhook-secret"


def channel_settings(database_url: str, rasa, twilio, telegram, **overrides) -> Settings:
    values = dict(
        DATABASE_URL=database_url,
        RASA_URL=rasa.url,
        RASA_TOKEN="t",
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=twilio.account_sid,
        TWILIO_AUTH_TOKEN=twilio.auth_token,
        TWILIO_SMS_FROM="+6281100001708",
        TWILIO_WHATSAPP_FROM="whatsapp:+6281100001709",
        TWILIO_API_URL=twilio.url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_API_URL=telegram.url,
        TELEGRAM_MODE="webhook",
    )
    values.update(overrides)
    return Settings(**values)


def app_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def sign(auth_token: str, path: str, params: dict[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(PUBLIC_BASE_URL + path, params)


def post_twilio(client: TestClient, auth_token: str, params: dict[str, str], path: str = "/webhooks/twilio", signature=None):
    return client.post(
        path,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(auth_token, path, params) if signature is None else signature,
        },
    )


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
