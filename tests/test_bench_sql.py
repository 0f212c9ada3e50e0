"""The benchmark's bare app must send the service's own SQL, or its ratios compare nothing."""

from bench import sql_drift


def test_bare_app_sends_the_services_sql():
    assert sql_drift.drift() == []
