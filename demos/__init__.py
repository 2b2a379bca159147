"""Demo modules: each one is shown in the docs, served live and tested."""
