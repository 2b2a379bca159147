"""The engine in a browser's Python (Pyodide) against the same code on CPython: blocks per second."""
