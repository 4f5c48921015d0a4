"""Storage: tables, the engine and sessions, and every query (repository)."""
