"""Custom actions, served by rasa-sdk inside the app (see bot/app.py, /webhook)."""
