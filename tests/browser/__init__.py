"""Headless Chromium against the real docs server: the demo boxes, the lab, accessibility, search."""
