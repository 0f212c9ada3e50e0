"""The fault and reliability suite: `make reliability` (see conftest.py)."""
