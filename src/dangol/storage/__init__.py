"""Storage adapter: SQLAlchemy Core tables, Alembic migrations, repositories."""
