"""Aduan's app: dialogue glue, custom actions (rasa-sdk), the ASGI app, the REST API and the CLI."""
