"""Persistence: SQLAlchemy models, repositories, the engine and the Alembic migrations.

Repositories are the only place that builds SQL. They add and flush; they never commit —
the use case that calls them owns the transaction.
"""
