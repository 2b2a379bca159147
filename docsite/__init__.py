"""Build-time support for the documentation site (MkDocs hooks)."""
