"""Emails in intake rows: Slack IDs in their place, looked up before any transaction.

An email Slack does not know makes the row incomplete (storage.intake), never
guessed. :func:`prefetch_emails` asks Slack first, so the intake's transaction
is short and holds no lock while Slack answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from storage.import_file import EMAIL, EmailResolver
from storage.mapping import Missing, SourceMapping, resolve_row

if TYPE_CHECKING:
    from storage.intake import SourceRow

__all__ = ["prefetch_emails", "resolve_people"]


def resolve_people(
    data: dict[str, Any],
    probe: dict[str, Any],
    missing: list[Missing],
    resolve_email: EmailResolver | None,
    cache: dict[str, str | LookupError],
) -> None:
    """Put Slack IDs in place of emails; an email Slack does not know is missing, not guessed."""
    places: list[tuple[str, str, Any]] = [
        ("recruiter", "recruiter", None),
        ("hiring_lead", "hiring_lead", None),
    ]
    panel = data.get("panel")
    if isinstance(panel, list):
        data["panel"] = panel = [dict(m) if isinstance(m, Mapping) else m for m in panel]
        probe["panel"] = [dict(m) if isinstance(m, Mapping) else m for m in panel]
        places += [(f"panel[{i}].interviewer", "interviewer", i) for i in range(len(panel))]
    for n, (path, key, i) in enumerate(places):
        holder = data if i is None else data["panel"][i]
        target = probe if i is None else probe["panel"][i]
        if not isinstance(holder, dict):
            continue
        value = holder.get(key)
        if not isinstance(value, str) or not EMAIL.match(value.strip()):
            continue
        found = _lookup(value.strip().lower(), resolve_email, cache)
        if isinstance(found, str):
            holder[key] = target[key] = found
        else:
            missing.append(Missing(path, str(found.args[0]) if found.args else str(found)))
            target[key] = f"U0MISSING{n}"


def prefetch_emails(
    rows: Sequence[SourceRow], mapping: SourceMapping, resolve_email: EmailResolver | None
) -> EmailResolver | None:
    """Resolve every email the rows name now, before a transaction holds any lock.

    ``resolve_email`` may call Slack (seconds, with retries); the returned resolver
    answers from what was found (LookupError as before), so :func:`intake_rows`
    can run in a short transaction.
    """
    if resolve_email is None:
        return None
    cache: dict[str, str | LookupError] = {}
    for row in rows:
        if row.cancelled or not isinstance(row.fields, Mapping):
            continue
        data, _ = resolve_row(mapping, row.fields)
        people = [data.get("recruiter"), data.get("hiring_lead")]
        panel = data.get("panel")
        if isinstance(panel, list):
            people += [m.get("interviewer") for m in panel if isinstance(m, Mapping)]
        for person in people:
            if isinstance(person, str) and EMAIL.match(person.strip()):
                _lookup(person.strip().lower(), resolve_email, cache)

    def cached(email: str) -> str:
        found = _lookup(email.strip().lower(), resolve_email, cache)
        if isinstance(found, LookupError):
            raise found
        return found

    return cached


def _lookup(
    email: str, resolve_email: EmailResolver | None, cache: dict[str, str | LookupError]
) -> str | LookupError:
    if email not in cache:
        if resolve_email is None:
            cache[email] = LookupError(f"{email}: emails are resolved through Slack, which is off")
        else:
            try:
                cache[email] = resolve_email(email)
            except LookupError as exc:
                cache[email] = exc
    return cache[email]
