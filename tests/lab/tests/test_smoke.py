"""The lab works as the internet would: names, HTTPS, STARTTLS, ACME, RFC 2136."""

from __future__ import annotations

import pytest

GOOD_MX = ["mx1.example.test", "mx2.example.test", "mx.provider.test"]


def expected_addresses(lab) -> dict[str, list[str]]:
    """Every A record of the scenario, by owner name."""
    names: dict[str, set[str]] = {}
    for zone in lab.world.zones.values():
        for owner, rtype, rdata in zone.records:
            if rtype == "A":
                names.setdefault(owner, set()).add(rdata)
    return {name: sorted(addresses) for name, addresses in names.items()}


def test_every_name_resolves_through_the_system_resolver(lab):
    expected = expected_addresses(lab)
    assert len(expected) > 30
    assert lab.call("resolve", sorted(expected)) == expected


def test_records_resolve_through_a_stub_resolver(lab):
    assert lab.call("lookup", "example.test", "MX") == ["10 mx1.example.test.", "20 mx2.example.test."]
    [sts] = lab.call("lookup", "_mta-sts.example.test", "TXT")
    assert sts.startswith("v=STSv1; id=")
    assert lab.call("lookup", "_smtp._tls.example.test", "TXT") == [
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.test"]
    # deployable domains: policy host address reserved, nothing published
    assert lab.call("lookup", "_mta-sts.deploy-a.test", "TXT") == []
    assert lab.call("resolve", ["mta-sts.deploy-c.test"]) == {
        "mta-sts.deploy-c.test": ["127.0.0.10", "127.0.0.11"]}


def test_names_outside_the_lab_do_not_resolve(lab):
    [answer] = lab.call("resolve", ["example.com"]).values()
    assert answer.startswith("error")


@pytest.mark.parametrize("domain", ["example.test", "hosted.test"])
def test_https_with_the_lab_ca_succeeds(lab, domain):
    answer = lab.call("https_get", f"mta-sts.{domain}", "/.well-known/mta-sts.txt",
                      lab.facts["ca_bundle"])
    assert answer["ok"], answer
    assert answer["status"] == 200
    assert answer["content_type"] == "text/plain"
    assert answer["head"].startswith("version: STSv1\r\n")


def test_https_without_the_lab_ca_fails(lab):
    answer = lab.call("https_get", "mta-sts.example.test", "/.well-known/mta-sts.txt", None)
    assert answer == {"ok": False, "error": "certificate", "detail": answer["detail"]}
    assert "local issuer" in answer["detail"]


def test_policy_host_answers_404_elsewhere(lab):
    answer = lab.call("https_get", "mta-sts.example.test", "/", lab.facts["ca_bundle"])
    assert answer["status"] == 404


@pytest.mark.parametrize("host", GOOD_MX)
def test_starttls_to_each_mx_works_and_verifies(lab, host):
    answer = lab.call("starttls", host, lab.facts["ca_bundle"])
    assert answer["ok"], answer
    assert answer["names"] == [host]
    assert answer["tls_version"] in ("TLSv1.2", "TLSv1.3")


def test_starttls_without_the_lab_ca_fails(lab):
    answer = lab.call("starttls", "mx1.example.test", None)
    assert answer["error"] == "certificate"


def test_mx_servers_are_postfix_and_aiosmtpd(lab):
    banner1 = lab.run(["bash", "-c", "exec 3<>/dev/tcp/mx1.example.test/25; head -1 <&3"])
    banner2 = lab.run(["bash", "-c", "exec 3<>/dev/tcp/mx2.example.test/25; head -1 <&3"])
    assert banner1["stdout"].startswith("220 mx1.example.test ESMTP lab")  # Postfix banner
    assert "lab aiosmtpd" in banner2["stdout"]


def test_pebble_issues_a_certificate_over_http01(lab):
    answer = lab.call("acme_http01", "acme-check.lab.test", "127.0.0.5")
    assert answer["names"] == ["acme-check.lab.test"]
    assert answer["chain_length"] >= 2  # leaf + pebble intermediate, verified up to its root
    assert any(path.startswith("/.well-known/acme-challenge/") for path in answer["validated_paths"])


def test_rfc2136_update_with_the_tsig_key_succeeds(lab):
    assert lab.call("update_txt", "records-a.test", "smoke.records-a.test", "signed", "lab") == "NOERROR"
    assert lab.call("lookup", "smoke.records-a.test", "TXT") == ["signed"]


@pytest.mark.parametrize("key", ["none", "wrong"])
def test_rfc2136_update_without_the_tsig_key_is_refused(lab, key):
    rcode = lab.call("update_txt", "records-b.test", f"{key}.records-b.test", "unsigned", key)
    assert rcode in ("REFUSED", "NOTAUTH", "tsig error: PeerBadKey", "tsig error: PeerBadSignature")
    assert lab.call("lookup", f"{key}.records-b.test", "TXT") == []


def test_facts_are_exported_as_environment_variables(lab):
    env = lab.env
    assert env["MTA_STS_LAB_DNS_SERVER"] == lab.facts["dns_server"] == "127.0.0.1"
    assert env["MTA_STS_LAB_TSIG_KEY_SECRET"] == lab.facts["tsig_key_secret"]
    assert env["MTA_STS_LAB_FACTS"] == "/run/mta-sts-lab/facts.json"
    assert env["MTA_STS_LAB_GOOD_DOMAINS"].split() == lab.facts["good_domains"]
    assert lab.facts["acme_directory"] == "https://acme.lab.test/dir"
    assert set(lab.facts["deploy_certs"]) == set(lab.facts["deploy_domains"])


def test_lab_programs_see_only_loopback(lab):
    links = lab.run(["ip", "-o", "link"])["stdout"].splitlines()
    assert len(links) == 1 and ": lo:" in links[0]
