"""The arithmetic of timelines and coverage figures, without a database: bucket boundaries in
UTC, a timeline's default range, and durations in ISO 8601."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
DEFAULT_SPAN = timedelta(days=30)


def bucket_start(moment: datetime, interval: str) -> datetime:
    """The start of the UTC bucket holding `moment`; weeks start on Monday, as PostgreSQL's
    date_trunc('week', ...) does."""
    moment = moment.astimezone(UTC)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown interval {interval!r}")


@dataclass(frozen=True)
class Range:
    start: datetime  # the first bucket's start
    end: datetime  # the last bucket's end (exclusive)
    buckets: int


class RangeError(ValueError):
    """A range the timeline refuses; `fields` are the query parameters to change."""

    def __init__(self, message: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


def timeline_range(
    interval: str,
    *,
    start: datetime | None,
    end: datetime | None,
    first_seen: datetime | None,
    last_seen: datetime | None,
    now: datetime,
    max_buckets: int,
) -> Range:
    """The whole buckets a timeline covers. Unset bounds default to the narrative's first and
    last sightings (the last only when neither bound is set: a range from a given instant runs
    to now), or to the 30 days up to `end` when there are none."""
    if end is None:
        end = last_seen if start is None and last_seen is not None else now
    if start is None:
        start = first_seen if first_seen is not None and first_seen <= end else end - DEFAULT_SPAN
    if start > end:
        raise RangeError("`from` is after `to`.", ("from", "to"))
    step = STEPS[interval]
    first = bucket_start(start, interval)
    last = bucket_start(end, interval)
    count = (last - first) // step + 1
    if count > max_buckets:
        raise RangeError(
            f"The range holds {count} {interval} buckets; at most {max_buckets} are returned. "
            "Narrow `from`/`to` or choose a wider `interval`.",
            ("from", "to", "interval"),
        )
    return Range(first, last + step, count)


def iso_duration(seconds: int | float | None) -> str | None:
    """Whole seconds as an ISO 8601 duration, days the largest unit (months and years have no
    fixed length): 93784 -> 'P1DT2H3M4S'. Negative durations get a leading '-' (the XML Schema
    convention), since ISO 8601 itself has none."""
    if seconds is None:
        return None
    total = int(seconds)
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}P{days}DT{hours}H{minutes}M{secs}S"
