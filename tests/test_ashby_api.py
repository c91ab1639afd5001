"""sources.ashby_api against the fake Ashby API: auth, answers, failures and the time budget."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from bot.config_sources import AshbyConfig
from sources.ashby_api import AshbyApi, AshbyRefused, AshbyUnavailable, fetch_details
from sources.ashby_payload import parse_schedule
from tests.fake_ashby import API_KEY, FakeAshby, Fault, fixture, running_fake_ashby

APPLICATION = "3ae2b801-19f6-41ef-ad28-214bd731948f"


@pytest.fixture
def ashby() -> Iterator[FakeAshby]:
    with running_fake_ashby() as fake:
        yield fake


@pytest.fixture
def api(ashby: FakeAshby) -> Iterator[AshbyApi]:
    client = AshbyApi(ashby.url, API_KEY, timeout=2.0)
    yield client
    client.close()


def test_calls_are_posts_with_json_and_basic_auth(api: AshbyApi, ashby: FakeAshby) -> None:
    results = api.call("application.info", {"applicationId": APPLICATION})
    assert results["candidate"]["name"] == "Adam Hart"
    [call] = ashby.calls
    assert call.method == "application.info" and call.params == {"applicationId": APPLICATION}
    assert call.authorization == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=401, body={}), AshbyRefused),
        (Fault(status=403, body={}), AshbyRefused),
        (Fault(status=200, body=fixture("error_response.json")), AshbyRefused),
        (Fault(status=500), AshbyUnavailable),
        (Fault(status=429), AshbyUnavailable),
        (Fault(status=200, body={"success": True}), AshbyUnavailable),  # no results
    ],
)
def test_failures_are_told_apart(
    api: AshbyApi, ashby: FakeAshby, fault: Fault, error: type[Exception]
) -> None:
    ashby.fail("application.info", fault)
    with pytest.raises(error):
        api.call("application.info", {"applicationId": APPLICATION})


def test_a_wrong_key_is_refused(ashby: FakeAshby) -> None:
    client = AshbyApi(ashby.url, "wrong")
    try:
        with pytest.raises(AshbyRefused, match="403"):
            client.call("application.info", {"applicationId": APPLICATION})
    finally:
        client.close()


def test_nothing_listening_is_unavailable(ashby: FakeAshby) -> None:
    url = ashby.url
    ashby.stop()
    client = AshbyApi(url, API_KEY, timeout=1.0)
    try:
        with pytest.raises(AshbyUnavailable):
            client.call("application.info", {"applicationId": APPLICATION})
    finally:
        client.close()


def test_details_of_the_documented_schedule(api: AshbyApi) -> None:
    details = fetch_details(api, parse_schedule(fixture("interview_schedule_create.json")))
    assert (details.candidate, details.job) == ("Adam Hart", "Software Engineer")
    assert details.kits == {
        "ff6c7d9d-71e3-4c9c-88b1-28824980c276": "Technical Phone Interview",
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d": "System Design",
    }
    assert details.emails == {}  # every interviewer had an email in the payload


def test_names_fall_back_to_candidate_and_job_info(api: AshbyApi, ashby: FakeAshby) -> None:
    application = ashby.applications[APPLICATION]
    application["candidate"] = {"id": "5b591aed-88e3-4395-b9c6-7e8b3c1d2a4f"}
    application["job"] = {"id": "8d9e0f1a-2b3c-4d5e-8f6a-7b8c9d0e1f2a"}
    details = fetch_details(api, parse_schedule(fixture("interview_schedule_create.json")))
    assert (details.candidate, details.job) == ("Adam Hart", "Software Engineer")
    assert [c.params for c in ashby.calls_to("candidate.info")] == [
        {"id": "5b591aed-88e3-4395-b9c6-7e8b3c1d2a4f"}
    ]


def test_a_refused_record_leaves_its_name_unknown(api: AshbyApi, ashby: FakeAshby) -> None:
    ashby.fail("application.info", Fault(status=200, body=fixture("error_response.json")))
    details = fetch_details(api, parse_schedule(fixture("interview_schedule_create.json")))
    assert (details.candidate, details.job) == (None, None)
    assert details.kits  # the other calls went on


def test_the_calls_of_one_webhook_have_a_time_budget(api: AshbyApi, ashby: FakeAshby) -> None:
    ashby.fail("*", Fault(status=200, body=fixture("interview_info.json"), delay=0.2, times=10))
    with pytest.raises(AshbyUnavailable, match="budget"):
        fetch_details(api, parse_schedule(fixture("interview_schedule_create.json")), budget=0.3)


def test_a_cancelled_schedule_asks_nothing(api: AshbyApi, ashby: FakeAshby) -> None:
    doc = fixture("interview_schedule_create.json")
    doc["data"]["interviewSchedule"]["status"] = "Cancelled"
    assert fetch_details(api, parse_schedule(doc)).candidate is None
    assert ashby.calls == []


@pytest.mark.parametrize("url", ["ftp://api.ashbyhq.com", "api.ashbyhq.com", "https://k:@x.test"])
def test_the_api_url_is_an_http_url_without_credentials(url: str) -> None:
    with pytest.raises(ValidationError, match="api_url"):
        AshbyConfig(api_url=url)
    assert AshbyConfig(api_url="http://127.0.0.1:8080/").api_url == "http://127.0.0.1:8080"
