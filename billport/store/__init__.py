"""Persistence: SQLAlchemy Core on SQLite (default) or PostgreSQL. All SQL lives here."""
