"""Aduan's benchmark harness (not part of the test suite): ``.venv/app/bin/python -m bench``.

See bench/README.md.
"""
