"""The one place channels are registered. Adding a provider (an Indonesian SMS aggregator, say)
means writing its module (adapter + webhook router), adding it here, and naming the schemes it
carries in ``channels.urns.PROVIDER_OF_SCHEME``."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from channels import simulator, telegram, twilio
from channels.registry import AdapterRegistry

logger = logging.getLogger(__name__)


def build_adapters(settings) -> AdapterRegistry:
    registry = AdapterRegistry()
    if settings.simulator_exposed:
        logger.warning(
            "SIMULATOR_ENABLED=true with PUBLIC_BASE_URL set: anyone who reaches this app can file real "
            "complaints through /simulator/messages and read what the bot sends to simulated addresses"
        )
    if settings.simulator_enabled:
        registry.register(simulator.SimulatorAdapter())
    if settings.twilio_account_sid and settings.twilio_auth_token:
        registry.register(
            twilio.TwilioAdapter(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                sms_from=settings.twilio_sms_from,
                whatsapp_from=settings.twilio_whatsapp_from,
                whatsapp_template_sid=settings.twilio_whatsapp_template_sid,
                public_base_url=settings.public_base_url,
                api_url=settings.twilio_api_url,
            )
        )
    if settings.telegram_bot_token:
        if not settings.telegram_webhook_secret and settings.public_base_url:
            logger.warning("TELEGRAM_WEBHOOK_SECRET is not set: the Telegram webhook will refuse every update")
        registry.register(
            telegram.TelegramAdapter(
                token=settings.telegram_bot_token,
                webhook_secret=settings.telegram_webhook_secret,
                api_url=settings.telegram_api_url,
            )
        )
    return registry


def webhook_routers(settings) -> list[APIRouter]:
    routers = [twilio.router, telegram.router]
    if settings.simulator_enabled:
        routers.append(simulator.router)
    return routers
