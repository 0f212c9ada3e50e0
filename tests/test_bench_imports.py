"""bench/imports.py runs end to end on a small file (it had stopped starting once, unnoticed,
when the module it serves through was renamed): the service imports every line, the raw COPY
runs, and the figures are printed. Nothing here asserts a time."""

import uuid

from bench import imports


def test_the_import_benchmark_runs_end_to_end(server_url, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_DATABASE_URL", server_url)
    monkeypatch.setattr(imports, "DB", f"narratives_bench_import_{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(imports, "SEED_DB", "no_seed_in_tests")  # an empty database, not a copy

    assert imports.main(["--lines", "300", "--workers", "1"]) == 0

    out = capsys.readouterr().out
    assert "import: 300 sightings" in out
    assert "COPY:   300 sightings" in out
    assert "import / COPY:" in out
