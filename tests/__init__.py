"""The test suite: pytest, run from the checkout (`nox -s tests`); every folder is a package, imported as tests.*."""
