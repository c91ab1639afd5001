"""The Harvest v3 client against the fake Greenhouse on loopback: token, pages, faults."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.config_sources import GreenhouseConfig
from sources.greenhouse_api import HarvestClient, HarvestError, next_link
from tests.fake_harvest import CLIENT_ID, CLIENT_SECRET, FakeHarvest


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeHarvest]:
    with FakeHarvest().running() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client(fake: FakeHarvest, clock: Clock, *, secret: str = CLIENT_SECRET) -> HarvestClient:
    return HarvestClient(
        api_url=fake.url,
        token_url=fake.token_url,
        client_id=CLIENT_ID,
        client_secret=secret,
        clock=clock,
    )


def interview(i: int) -> dict[str, object]:
    return {"id": i, "updated_at": f"2027-02-25T14:{i % 60:02d}:00.000Z", "status": "scheduled"}


def test_the_token_is_fetched_with_basic_client_credentials_and_sent_as_bearer(
    fake: FakeHarvest, clock: Clock
) -> None:
    api = client(fake, clock)
    assert list(api.pages("/v3/jobs", {"per_page": "10"})) == [[]]
    api.get("/v3/jobs")
    [token_call] = fake.calls("/token")
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_call.authorization == f"Basic {basic}"
    assert [c.authorization for c in fake.calls("/v3/jobs")] == ["Bearer token-1"] * 2
    assert fake.issued == 1  # cached between calls


def test_the_token_is_renewed_before_it_expires(fake: FakeHarvest, clock: Clock) -> None:
    api = client(fake, clock)
    api.get("/v3/jobs")
    clock.now += timedelta(minutes=59, seconds=30)  # within its last minute: renewed
    api.get("/v3/jobs")
    assert fake.issued == 2
    assert fake.calls("/v3/jobs")[-1].authorization == "Bearer token-2"


def test_a_401_renews_the_token_and_retries_once(fake: FakeHarvest, clock: Clock) -> None:
    api = client(fake, clock)
    api.get("/v3/jobs")
    fake.expire_tokens()  # Greenhouse revoked it early
    assert api.get("/v3/jobs").status_code == 200
    assert fake.issued == 2
    assert [c.authorization for c in fake.calls("/v3/jobs")] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_a_second_401_is_an_error_not_a_loop(fake: FakeHarvest, clock: Clock) -> None:
    api = client(fake, clock)
    fake.fail_next(401, path="/v3/jobs", times=5)
    with pytest.raises(HarvestError) as caught:
        api.get("/v3/jobs")
    assert caught.value.status == 401
    assert len(fake.calls("/v3/jobs")) == 2


def test_wrong_credentials_say_so_without_the_secret(fake: FakeHarvest, clock: Clock) -> None:
    api = client(fake, clock, secret="not-the-secret")
    with pytest.raises(HarvestError) as caught:
        api.get("/v3/jobs")
    assert "refused the client credentials (HTTP 401)" in str(caught.value)
    assert "not-the-secret" not in str(caught.value) and "not-the-secret" not in repr(api)
    assert fake.calls("/v3/jobs") == []


def test_pages_follow_the_link_header_with_the_cursor_alone(
    fake: FakeHarvest, clock: Clock
) -> None:
    for i in range(1, 251):
        fake.put_interview(interview(i))
    pages = list(client(fake, clock).pages("/v3/interviews", {"per_page": "100"}))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert sorted(i["id"] for p in pages for i in p) == list(range(1, 251))
    calls = fake.calls("/v3/interviews")
    assert calls[0].query == {"per_page": ["100"]}
    assert [set(c.query) for c in calls[1:]] == [{"cursor"}, {"cursor"}]


def test_a_429_carries_retry_after_and_the_client_does_not_sleep(
    fake: FakeHarvest, clock: Clock
) -> None:
    fake.fail_next(429, path="/v3/interviews", retry_after=7)
    with pytest.raises(HarvestError) as caught:
        client(fake, clock).get("/v3/interviews")
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)


def test_a_500_is_an_error_naming_the_path(fake: FakeHarvest, clock: Clock) -> None:
    fake.fail_next(500, path="/v3/interviews")
    with pytest.raises(HarvestError, match=r"HTTP 500 for /v3/interviews"):
        client(fake, clock).get("/v3/interviews")


def test_an_unreachable_greenhouse_is_an_error(clock: Clock) -> None:
    with FakeHarvest().running() as gone:
        url = gone.url
    api = HarvestClient(
        api_url=url, token_url=f"{url}/token", client_id="x", client_secret="y", clock=clock
    )
    with pytest.raises(HarvestError, match="unreachable"):
        api.get("/v3/jobs")


def test_next_link_reads_rfc_8288() -> None:
    assert next_link(None) is None and next_link("") is None
    assert next_link('<https://h/v3/jobs?cursor=abc>; rel="next"') == "https://h/v3/jobs?cursor=abc"
    assert next_link('<https://h/p>; rel="prev", <https://h/n>; rel=next') == "https://h/n"
    assert next_link('<https://h/p>; rel="prev"') is None
    assert next_link("<>; rel=next") is None


def test_the_config_section_checks_urls_interval_and_user_id() -> None:
    settings = GreenhouseConfig.model_validate(
        {"api_url": "https://harvest.greenhouse.io/", "poll_interval": "2m", "user_id": 12345}
    )
    assert settings.api_url == "https://harvest.greenhouse.io"
    assert settings.token_url == "https://auth.greenhouse.io/token"
    assert settings.poll_interval == timedelta(minutes=2) and settings.user_id == 12345
    for bad, message in (
        ({"api_url": "harvest.greenhouse.io"}, "http:// or https://"),
        ({"token_url": "ftp://auth.greenhouse.io/token"}, "http:// or https://"),
        ({"poll_interval": "10s"}, "at least 30s"),
        ({"user_id": 0}, "greater than 0"),
        ({"api_key": "v1-key"}, "Extra inputs are not permitted"),
    ):
        with pytest.raises(ValidationError, match=message):
            GreenhouseConfig.model_validate(bad)


def test_the_token_carries_the_configured_user_as_sub(fake: FakeHarvest, clock: Clock) -> None:
    api = HarvestClient(
        api_url=fake.url,
        token_url=fake.token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        user_id="12345",
        clock=clock,
    )
    api.get("/v3/jobs")
    assert fake.token_forms == [{"grant_type": ["client_credentials"], "sub": ["12345"]}]
