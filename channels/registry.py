"""The one place adapters are registered: a URN's scheme picks the adapter that sends to it."""

from __future__ import annotations

from channels.base import ChannelAdapter
from channels.urns import split_urn


class NoAdapter(LookupError):
    """No channel is configured for this URN's scheme."""


class AdapterRegistry:
    def __init__(self, adapters: list[ChannelAdapter] | None = None) -> None:
        self._adapters: list[ChannelAdapter] = list(adapters or [])

    def register(self, adapter: ChannelAdapter) -> None:
        self._adapters.append(adapter)

    def for_urn(self, urn: str) -> ChannelAdapter:
        scheme, _ = split_urn(urn)
        for adapter in self._adapters:
            if adapter.handles(scheme):
                return adapter
        raise NoAdapter(scheme)

    def get(self, provider: str) -> ChannelAdapter | None:
        return next((adapter for adapter in self._adapters if adapter.provider == provider), None)

    def __iter__(self):
        return iter(self._adapters)

    @property
    def providers(self) -> list[str]:
        return [adapter.provider for adapter in self._adapters]
