"""The one place adapters are registered: a URN's scheme picks the adapter that sends to it."""

from __future__ import annotations

from channels.base import ChannelAdapter
from channels.urns import PROVIDER_OF_SCHEME, SIMULATOR_SCHEMES, split_urn


class NoAdapter(LookupError):
    """No channel is configured for this URN's scheme (the dispatcher marks the message failed, for good)."""


class AdapterRegistry:
    def __init__(self, adapters: list[ChannelAdapter] | None = None) -> None:
        self._adapters: list[ChannelAdapter] = list(adapters or [])

    def register(self, adapter: ChannelAdapter) -> None:
        self._adapters.append(adapter)

    def for_urn(self, urn: str) -> ChannelAdapter:
        """The adapter of the provider that carries this URN's scheme, when it is set up for the scheme."""
        scheme, _ = split_urn(urn)
        adapter = self.get(PROVIDER_OF_SCHEME[scheme])
        if adapter is not None and adapter.handles(scheme):
            return adapter
        if scheme in SIMULATOR_SCHEMES.values():
            raise NoAdapter(f"{scheme} (the simulator is off)")
        raise NoAdapter(scheme)

    def get(self, provider: str) -> ChannelAdapter | None:
        return next((adapter for adapter in self._adapters if adapter.provider == provider), None)

    def __iter__(self):
        return iter(self._adapters)
