"""Ashby payloads to import rows, from the reference's documented shapes (pure, no database)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sources.ashby import sign, verify
from sources.ashby_payload import (
    Details,
    PayloadError,
    delivery_id,
    parse_action,
    parse_schedule,
    schedule_rows,
    schedule_source,
    user_ids_without_email,
)
from tests.fake_ashby import fixture

EVENT_1 = "3ae2b801-19f6-41ef-ad28-214bd731948f"
EVENT_2 = "5f0e4b1c-8d2a-4e3b-9c7d-1a2b3c4d5e6f"
SCHEDULE = "9d34f544-c150-4d70-91c4-e8b0b4a72846"
DETAILS = Details(
    candidate="Adam Hart",
    job="Software Engineer",
    kits={"ff6c7d9d-71e3-4c9c-88b1-28824980c276": "Technical Phone Interview"},
)


def created() -> dict[str, Any]:
    return fixture("interview_schedule_create.json")


def test_the_documented_create_payload_is_one_row_per_interview_event() -> None:
    schedule = parse_schedule(created())
    assert schedule.id == SCHEDULE and schedule.status == "Scheduled"
    rows = schedule_rows(schedule, DETAILS)
    assert [row.external_id for row in rows] == [f"ashby:{EVENT_1}", f"ashby:{EVENT_2}"]
    first, second = rows
    assert first.source == second.source == f"ashby:{SCHEDULE}" == schedule_source(schedule)
    assert not first.cancelled
    assert dict(first.fields) == {
        "candidate": "Adam Hart",
        "job": "Software Engineer",
        "kit": "Technical Phone Interview",
        "starts_at": "2027-03-01T10:00:00+00:00",
        "ends_at": "2027-03-01T11:00:00+00:00",
        "panel": [
            {"interviewer": "ana@example.com", "shadow": False},
            {"interviewer": "sam@example.com", "shadow": True},  # trainingRole: Shadow
        ],
    }
    # Reverse-Shadow leads the interview (observed by a trainer): not a shadow.
    assert second.fields["panel"] == [{"interviewer": "bo@example.com", "shadow": False}]
    assert "kit" not in second.fields  # its interview's title was not looked up


def test_what_the_api_did_not_tell_stays_out_of_the_row_never_guessed() -> None:
    rows = schedule_rows(parse_schedule(created()), Details())
    assert all("candidate" not in row.fields and "job" not in row.fields for row in rows)


def test_only_the_deprecated_user_ids_need_the_user_api_for_emails() -> None:
    doc = created()
    event = doc["data"]["interviewSchedule"]["interviewEvents"][1]
    del event["interviewers"]
    schedule = parse_schedule(doc)
    assert user_ids_without_email(schedule) == ["e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b"]
    # Without that email the panel is left out: the intake stores the row as incomplete.
    assert "panel" not in schedule_rows(schedule, DETAILS)[1].fields
    found = Details(emails={"e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b": "bo@example.com"})
    assert schedule_rows(schedule, found)[1].fields["panel"] == [
        {"interviewer": "bo@example.com", "shadow": False}
    ]


def test_a_cancelled_schedule_cancels_its_rows() -> None:
    doc = created()
    doc["action"] = "interviewScheduleUpdate"
    doc["data"]["interviewSchedule"]["status"] = "Cancelled"
    rows = schedule_rows(parse_schedule(doc), Details())
    assert [row.cancelled for row in rows] == [True, True]


def test_update_payload_carries_the_candidate_id() -> None:
    doc = created()
    doc["data"]["interviewSchedule"]["candidateId"] = "5b591aed-88e3-4395-b9c6-7e8b3c1d2a4f"
    assert parse_schedule(doc).candidate_id == "5b591aed-88e3-4395-b9c6-7e8b3c1d2a4f"


def _broken(change: Any) -> dict[str, Any]:
    doc = created()
    change(doc["data"]["interviewSchedule"])
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("id"), "`data.interviewSchedule.id` is missing"),
        (lambda s: s.update(status=3), "`data.interviewSchedule.status`"),
        (lambda s: s.update(applicationId=""), "`data.interviewSchedule.applicationId`"),
        (lambda s: s.update(interviewEvents={}), "interviewEvents` is not a list"),
        (
            lambda s: s["interviewEvents"][0].update(startTime="tomorrow"),
            "interviewEvents[0].startTime` is not an ISO 8601 timestamp",
        ),
        (
            lambda s: s["interviewEvents"][0].update(startTime="2027-03-01T10:00:00"),
            "has no time zone offset",
        ),
        (
            lambda s: s["interviewEvents"][1].update(endTime="2027-03-01T11:00:00Z"),
            "interviewEvents[1].endTime` is not after its startTime",
        ),
        (
            lambda s: s["interviewEvents"][0]["interviewers"][0].update(email="nobody"),
            "interviewers[0].email` is not an email address",
        ),
        (
            lambda s: s["interviewEvents"][1].update(id=EVENT_1),
            "lists an event id twice",
        ),
        (lambda s: s["interviewEvents"][0].update(id="x" * 80), "is missing or not an Ashby id"),
    ],
)
def test_malformed_schedules_say_what_is_wrong(change: Any, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_schedule(_broken(change))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"data": {}}', "`action` is missing"),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_action(body)
    assert message in str(caught.value)


def test_no_schedule_object_is_malformed() -> None:
    with pytest.raises(PayloadError, match=r"data\.interviewSchedule"):
        parse_schedule({"action": "interviewScheduleUpdate", "data": {}})


def test_redeliveries_are_keyed_by_webhook_action_id_or_the_body() -> None:
    doc = created()
    body = json.dumps(doc).encode()
    assert delivery_id(doc, body, "interviewScheduleCreate") == (
        "interviewScheduleCreate:75395d87-4044-4dc4-bc29-0cec185e5f06"
    )
    # The update Ashby sends along with a create is a different delivery.
    assert delivery_id(doc, body, "interviewScheduleUpdate") != delivery_id(
        doc, body, "interviewScheduleCreate"
    )
    bare = copy.deepcopy(doc)
    del bare["webhookActionId"]
    one = delivery_id(bare, json.dumps(bare).encode(), "interviewScheduleCreate")
    assert one == delivery_id(bare, json.dumps(bare).encode(), "interviewScheduleCreate")
    assert len(one) <= 128


def test_the_documented_signature_scheme() -> None:
    # docs "Authenticating Webhooks": sha256=<hex HMAC-SHA256 of the raw body>.
    body = b'{"action": "ping"}'
    headers = sign("8b943c474f5d1e1712f13e1a870b485c9b6b2b57", body)
    assert headers["Ashby-Signature"].startswith("sha256=")
    assert verify("8b943c474f5d1e1712f13e1a870b485c9b6b2b57", body, headers)
    assert verify(
        "8b943c474f5d1e1712f13e1a870b485c9b6b2b57",
        body,
        {"ashby-signature": headers["Ashby-Signature"]},
    )
    assert not verify("another secret", body, headers)
    assert not verify("8b943c474f5d1e1712f13e1a870b485c9b6b2b57", body + b" ", headers)
    digest = headers["Ashby-Signature"].partition("=")[2]
    assert not verify(
        "8b943c474f5d1e1712f13e1a870b485c9b6b2b57", body, {"Ashby-Signature": f"sha1={digest}"}
    )
    assert not verify("8b943c474f5d1e1712f13e1a870b485c9b6b2b57", body, {})


def test_times_keep_their_instant() -> None:
    schedule = parse_schedule(created())
    assert schedule.events[0].starts_at == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
