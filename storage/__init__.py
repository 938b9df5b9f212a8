"""Aduan's store: SQLModel tables, repository functions, Alembic migrations."""
