"""The contact store: SQLAlchemy models, sessions, migrations and the audit log."""
