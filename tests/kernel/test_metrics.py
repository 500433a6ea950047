"""GET /metrics: Prometheus's text format, counters that move with requests, figures read from the database at
scrape time, and only for the monitoring network or the holder of METRICS_TOKEN."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kernel import clock
from kernel.config import load_settings
from tasks.sweep import sweep
from tests.support.http import assert_error

FOREIGN = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, keyed by its name and labels."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def requests_counted(samples, endpoint: str, status: str) -> float:
    key = ("grid_http_requests_total", (("endpoint", endpoint), ("method", "GET"), ("status", status)))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_endpoint_and_status(client):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/api/v1/no/such/thing")
    after = scrape(client)
    assert requests_counted(after, "/healthz", "200") - requests_counted(before, "/healthz", "200") == 2
    assert requests_counted(after, "<unmatched>", "404") - requests_counted(before, "<unmatched>", "404") == 1


def test_the_latency_histogram_counts_each_request_once(client):
    key = ("grid_http_request_duration_seconds_count", (("endpoint", "/readyz"),))
    before = scrape(client).get(key, 0.0)
    client.get("/readyz")
    assert scrape(client)[key] - before == 1


def test_a_path_with_an_id_is_counted_under_its_rule_not_the_raw_path(client, make_account, auth):
    admin = make_account("admin")
    client.get(f"/api/v1/users/{admin.id}", headers=auth(admin))
    samples = scrape(client)
    assert requests_counted(samples, "/api/v1/users/<id:user_id>", "200") >= 1
    assert not any(f"/api/v1/users/{admin.id}" in dict(labels).get("endpoint", "") for _, labels in samples)


def test_an_address_outside_the_allowed_networks_is_refused(client):
    error = assert_error(client.get("/metrics", environ_base=FOREIGN), 403, "forbidden")
    assert error["details"] == {"address": ["203.0.113.9"]}


def test_an_allowed_network_may_scrape(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_NETWORKS", ["203.0.113.0/24"])
    assert client.get("/metrics", environ_base=FOREIGN).status_code == 200
    assert_error(client.get("/metrics"), 403, "forbidden")  # loopback is no longer on the list


def test_the_token_lets_a_scraper_in_from_anywhere(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret-0123456789")
    headers = {"Authorization": "Bearer scrape-secret-0123456789"}
    assert client.get("/metrics", environ_base=FOREIGN, headers=headers).status_code == 200


def test_a_wrong_token_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret-0123456789")
    headers = {"Authorization": "Bearer guessed"}
    assert_error(client.get("/metrics", environ_base=FOREIGN, headers=headers), 403, "forbidden")


def test_a_malformed_allowed_network_stops_the_start():
    with pytest.raises(ValueError, match="METRICS_ALLOWED_NETWORKS"):
        load_settings({"METRICS_ALLOWED_NETWORKS": "10.0.0.1/8", "SECRET_KEY": "k", "JWT_SECRET_KEY": "j"})


def test_the_outbox_depth_counts_the_sms_a_new_ticket_owes(client, world):
    key = ("grid_outbox_depth", (("channel", "sms"),))
    before = scrape(client)[key]
    world.ticket()  # the resident's "received" SMS waits in the outbox
    after = scrape(client)
    assert after[key] == before + 1
    assert after[("grid_outbox_oldest_due_age_seconds", (("channel", "sms"),))] >= 0


def test_overdue_tickets_and_the_sweeps_lag_show_until_the_sweep_records_them(app, client, world):
    ticket = world.ticket()
    due = datetime.fromisoformat(ticket["deadlines"]["due_at"].replace("Z", "+00:00"))
    clock.travel(due + timedelta(hours=1) - datetime.now(UTC))
    samples = scrape(client)
    assert samples[("grid_tickets_overdue", ())] == 1
    assert samples[("grid_sweep_lag_seconds", (("threshold", "warned"),))] > 3600
    with app.app_context():
        sweep()
    samples = scrape(client)
    assert samples[("grid_sweep_lag_seconds", (("threshold", "warned"),))] == 0
    assert samples[("grid_sweep_lag_seconds", (("threshold", "overdue"),))] == 0
    assert samples[("grid_tickets_overdue", ())] == 1  # still open, still overdue
