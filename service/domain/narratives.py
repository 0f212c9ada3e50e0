"""What a narrative allows: a rule the sightings and rebuttals that name one both obey."""

from typing import Any


def refusal(narrative: dict[str, Any] | None, ref: str) -> str | None:
    """Why a narrative cannot take new records (unknown, archived), or None if it can."""
    if narrative is None:
        return f"No narrative matches '{ref}'."
    if narrative["status"] == "archived":
        return f"The narrative '{narrative['slug']}' is archived."
    return None
