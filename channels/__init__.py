"""Channel adapters: the channel-neutral message model, the simulator, and (later) real providers."""
