"""Each broken fixture plays exactly its mistake, and nothing else is wrong with it."""

from __future__ import annotations

import pytest

POLICY = "/.well-known/mta-sts.txt"


def fixture_domain(name: str) -> str:
    return f"{name}.fixture.test"


def get(lab, domain: str, timeout: float = 5.0) -> dict:
    return lab.call("https_get", f"mta-sts.{domain}", POLICY, lab.facts["ca_bundle"], timeout)


def test_every_fixture_is_described_in_the_facts(lab):
    fixtures = lab.facts["fixtures"]
    assert len(fixtures) >= 20
    for name, fixture in fixtures.items():
        assert name.endswith(".fixture.test")
        assert fixture["mistake"] and fixture["expect"], name


@pytest.mark.parametrize(("name", "status", "content_type"), [
    ("policy-html", 200, "text/html"),
    ("policy-no-content-type", 200, None),
    ("policy-404", 404, "text/html"),
])
def test_http_answers(lab, name, status, content_type):
    answer = get(lab, fixture_domain(name))
    assert (answer["status"], answer["content_type"]) == (status, content_type), answer


def test_redirect_points_at_a_host_serving_a_valid_policy(lab):
    answer = get(lab, fixture_domain("policy-redirect"))
    assert answer["status"] == 301
    assert answer["location"] == "https://www.policy-redirect.fixture.test/.well-known/mta-sts.txt"
    target = lab.call("https_get", "www.policy-redirect.fixture.test", POLICY, lab.facts["ca_bundle"])
    assert (target["status"], target["content_type"]) == (200, "text/plain")


def test_bom_and_oversize_bodies(lab):
    bom = get(lab, fixture_domain("policy-bom"))
    assert bom["head"].startswith("\xef\xbb\xbfversion: STSv1")
    big = get(lab, fixture_domain("policy-oversize"))
    assert big["status"] == 200 and big["length"] > 65536
    assert big["head"].startswith("version: STSv1")


def test_slow_host_trips_a_short_timeout(lab):
    answer = get(lab, fixture_domain("policy-slow"), timeout=2.0)
    assert answer["error"] == "timeout"


@pytest.mark.parametrize(("name", "detail"), [
    ("cert-wrong-name", "Hostname mismatch"),
    ("cert-expired", "certificate has expired"),
    ("cert-default", "Hostname mismatch"),
])
def test_certificate_fixtures_fail_verification(lab, name, detail):
    answer = get(lab, fixture_domain(name))
    assert answer["error"] == "certificate", answer
    assert detail in answer["detail"]


def test_sni_fixture_needs_sni(lab):
    domain = fixture_domain("sni-required")
    assert get(lab, domain)["status"] == 200
    address = lab.facts["policy_hosts"][f"mta-sts.{domain}"]
    with_sni = lab.call("peer_certificate", address, 443, f"mta-sts.{domain}")
    without = lab.call("peer_certificate", address, 443, None)
    assert with_sni["names"] == [f"mta-sts.{domain}"]
    assert without["names"] == ["web.provider.test"]


@pytest.mark.parametrize(("name", "records"), [
    ("txt-two-records", ["v=STSv1; id=20240101", "v=STSv1; id=20240102"]),
    ("txt-bad-id", ["v=STSv1; id=2024-01+01/a"]),
    ("txt-long-id", ["v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456789"]),
])
def test_txt_fixtures(lab, name, records):
    assert lab.call("lookup", f"_mta-sts.{fixture_domain(name)}", "TXT") == records
    assert get(lab, fixture_domain(name))["status"] == 200


def test_tlsrpt_without_scheme(lab):
    assert lab.call("lookup", "_smtp._tls.tlsrpt-no-scheme.fixture.test", "TXT") == [
        "v=TLSRPTv1; rua=postmaster@tlsrpt-no-scheme.fixture.test"]


def test_mx_not_covered(lab):
    domain = fixture_domain("mx-not-covered")
    assert lab.call("lookup", domain, "MX") == ["10 mx.provider.test.", "20 mx2.example.test."]
    answer = get(lab, domain)
    assert answer["head"].startswith("version: STSv1\r\nmode: enforce\r\nmx: mx.provider.test\r\nmax_age")


@pytest.mark.parametrize(("name", "error", "detail"), [
    ("mx-no-starttls", "no STARTTLS offered", None),
    ("mx-wrong-name", "certificate", "Hostname mismatch"),
    ("mx-expired", "certificate", "certificate has expired"),
    ("mx-self-signed", "certificate", "self-signed certificate"),
])
def test_mx_fixtures(lab, name, error, detail):
    host = f"mx.{fixture_domain(name)}"
    answer = lab.call("starttls", host, lab.facts["ca_bundle"])
    assert answer["ok"] is False and answer["error"] == error, answer
    if detail:
        assert detail in answer["detail"]
    # the policy itself is fine: only the MX is broken
    assert get(lab, fixture_domain(name))["status"] == 200


def test_cname_at_mta_sts(lab):
    assert lab.call("lookup", "_mta-sts.sts-cname.test", "TXT") == ["v=STSv1; id=cname1"]
    # Knot does not chase CNAMEs out of the zone: a stub resolver gets no TXT.
    assert lab.call("lookup", "_mta-sts.sts-cname-xzone.test", "TXT") == []
    assert lab.call("lookup", "_mta-sts.sts-cname-xzone.test", "CNAME") == [
        "sts-cname-xzone-test.sts.provider.test."]
