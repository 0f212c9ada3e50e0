"""Marshmallow schemas: what the API accepts and returns. No database access here."""
