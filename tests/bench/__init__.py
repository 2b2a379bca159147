"""The benchmark's own helpers, and a quick run of it."""
