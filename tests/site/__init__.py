"""The docs site: its build, its sources, its server, and the pages that quote the engine."""
