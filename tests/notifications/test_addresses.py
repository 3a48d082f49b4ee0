"""The pure core of notifications: the webhook destination guard, retry timing, templates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangol.notifications.addresses import DestinationPolicy, RefusedDestination, check_addresses, check_url
from dangol.notifications.retries import RetryPolicy
from dangol.notifications.templates import BUILT_IN, InvalidTemplate, Template, check, render

STRICT = DestinationPolicy()
LOCAL = DestinationPolicy(allow_http_loopback=True)


@pytest.mark.parametrize(("url", "why"), [
    ("http://shop.example/hooks", "https"),
    ("http://127.0.0.1:8080/hooks", "https"),  # loopback over http only when the operator allows it
    ("ftp://shop.example/hooks", "https"),
    ("https://user:pw@shop.example/hooks", "no user"),
    ("https:///nohost", "names a host"),
    ("https://shop.example:99999/", "not a URL"),
    ("", "1 to 2000"),
])
def test_urls_refused_before_any_lookup(url: str, why: str) -> None:
    with pytest.raises(RefusedDestination, match=why):
        check_url(url, STRICT)


@pytest.mark.parametrize("address", ["10.0.0.8", "172.16.3.4", "192.168.1.1", "127.0.0.1", "169.254.169.254",
                                     "::1", "fd00::1", "fe80::1", "0.0.0.0", "224.0.0.1", "100.64.0.1"])
def test_hosts_that_resolve_inside_are_refused(address: str) -> None:
    destination = check_url("https://hooks.shop.example/x", STRICT)
    with pytest.raises(RefusedDestination, match="not a public address"):
        check_addresses(destination, ["93.184.216.34", address], STRICT)  # one inside is enough


def test_what_the_operator_may_allow() -> None:
    assert check_url("http://127.0.0.1:8080/x", LOCAL).port == 8080
    check_addresses(check_url("http://127.0.0.1:8080/x", LOCAL), ["127.0.0.1"], LOCAL)
    with pytest.raises(RefusedDestination):  # leave for plain http to loopback is no leave to reach the LAN
        check_addresses(check_url("https://intranet.example/x", LOCAL), ["10.0.0.8"], LOCAL)
    anywhere = DestinationPolicy(allow_private=True)
    check_addresses(check_url("https://intranet.example/x", anywhere), ["10.0.0.8"], anywhere)
    with pytest.raises(RefusedDestination, match="does not resolve"):
        check_addresses(check_url("https://nowhere.example/x", STRICT), [], STRICT)


NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@given(st.integers(1, 20), st.floats(0, 0.999_999))
def test_retries_back_off_within_their_jitter_and_stop_after_the_last_try(attempts: int, unit: float) -> None:
    policy = RetryPolicy()
    later = policy.next_attempt(attempts, NOW, unit)
    if attempts >= policy.max_attempts:
        assert later is None
        return
    assert later is not None
    nominal = min(policy.base * 2 ** (attempts - 1), policy.cap)
    assert nominal * (1 - policy.jitter) <= later - NOW <= nominal * (1 + policy.jitter)
    assert later - NOW >= timedelta(seconds=24)


def test_every_built_in_template_compiles_and_renders_in_both_languages() -> None:
    context = {"program": "Talent market", "points": 12345, "expires_on": "2027-01-01", "from_tier": None,
               "to_tier": "숲", "month": "2026-01", "earned": 1, "redeemed": 2, "expired": 3, "balance": 4,
               "name": "Welcome", "unsubscribe_url": "https://x/u", "unsubscribe_label": "x"}
    for (kind, language), template in BUILT_IN.items():
        rendered = render(check(template), context)
        assert rendered.subject and "\n" not in rendered.subject, (kind, language)
    assert render(BUILT_IN[("points.expiring", "en")], context).subject == \
        "[Talent market] 12,345 points expire on 2027-01-01"


def test_html_is_escaped_and_a_template_cannot_reach_python() -> None:
    html = render(Template("s", "t", "<p>{{ name }}</p>"), {"name": "<script>"}).html
    assert html == "<p>&lt;script&gt;</p>"
    with pytest.raises(InvalidTemplate) as refused:
        check(Template("ok", "line one\n{{ points", "<p></p>"))
    assert refused.value.context["field"] == "text"
    from dangol.notifications.templates import RenderFailed
    with pytest.raises(RenderFailed):
        render(Template("{{ points.__class__.__mro__ }}", "t", "h"), {"points": 1})
