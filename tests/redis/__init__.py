"""The Redis state manager: one process, several Apps on one Redis, and real worker processes."""
