"""The numbers the suite reports: collected by the tests as they run, printed as one table at the
end of the session (see `pytest_terminal_summary` in conftest.py), whether the tests passed or
not. A figure nobody recorded is shown as "-" rather than a misleading 0."""

from __future__ import annotations

import threading
from typing import Any

# Figures every section reports, in this order, when it has them.
ORDER = (
    "cases run",
    "requests sent",
    "acknowledged",
    "stored",
    "duplicates",
    "lost",
    "5xx",
    "503",
    "connection errors",
    "retries",
)


class Figures:
    def __init__(self) -> None:
        self._sections: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def set(self, section: str, name: str, value: Any) -> None:
        with self._lock:
            self._sections.setdefault(section, {})[name] = value

    def add(self, section: str, name: str, amount: int = 1) -> None:
        with self._lock:
            figures = self._sections.setdefault(section, {})
            figures[name] = figures.get(name, 0) + amount

    def get(self, section: str, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._sections.get(section, {}).get(name, default)

    def total(self, name: str) -> int:
        with self._lock:
            return sum(
                value
                for figures in self._sections.values()
                for key, value in figures.items()
                if key == name and isinstance(value, int)
            )

    def lines(self) -> list[str]:
        with self._lock:
            sections = {name: dict(figures) for name, figures in self._sections.items()}
        if not sections:
            return ["(no figures recorded)"]
        width = max(len(name) for name in sections) + 2
        out = []
        for section, figures in sections.items():
            known = [name for name in ORDER if name in figures]
            extra = [name for name in figures if name not in ORDER]
            cells = ", ".join(f"{name} {figures[name]}" for name in known + extra)
            out.append(f"{section:<{width}}{cells}")
        totals = ", ".join(
            f"{name} {self.total(name)}" for name in ("cases run", "requests sent", "5xx")
        )
        out.append(f"{'total':<{width}}{totals}")
        return out


FIGURES = Figures()
