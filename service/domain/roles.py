"""Roles, lowest first; each includes the ones before it."""

ROLES = ("reader", "monitor", "editor", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
