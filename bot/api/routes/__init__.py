"""The REST API's routes, one module per resource; bot/api/__init__.py mounts them under /api/v1."""
