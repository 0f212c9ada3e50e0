"""What the builders share: timestamps and deterministic identifiers."""

import uuid
from datetime import UTC, datetime

# Every identifier an export mints is a UUIDv5 under this namespace, from our own ids, so the same
# record exports to the same identifier every time (and in every format). Never change it: the
# identifiers other systems stored would all change with it.
NAMESPACE = uuid.UUID("5b0b8e8a-3c1e-5d2f-9a57-6e4f2b7d9c10")


def stable_uuid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts))


def timestamp(moment: datetime | str, *, millis: bool = False) -> str:
    """RFC 3339 in UTC with 'Z'. `millis` truncates to exactly three decimals, which STIX asks of
    created/modified; truncation (not rounding) keeps modified >= created. Accepts the strings
    PostgreSQL's json functions write for nested rows as well as datetimes."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    utc = moment.astimezone(UTC)
    if millis:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.isoformat().replace("+00:00", "Z")
