"""The engine's contract, on every state manager: states, handlers, background tasks, the wire, the demos."""
