"""Real senders' code agrees with the fixtures: postfix-mta-sts-resolver's mta-sts-query."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

MTA_STS_QUERY = Path(sys.executable).with_name("mta-sts-query")


def mta_sts_query(lab, domain: str) -> str:
    if not MTA_STS_QUERY.exists():
        pytest.fail(f"{MTA_STS_QUERY} is missing: pip install postfix-mta-sts-resolver")
    answer = lab.run([str(MTA_STS_QUERY), domain], env={"SSL_CERT_FILE": lab.facts["ca_bundle"]},
                     timeout=30)
    assert answer["rc"] == 0, answer
    return answer["stdout"]


@pytest.mark.parametrize("domain", ["example.test", "hosted.test", "sts-cname.test"])
def test_good_domains_are_valid(lab, domain):
    assert "STSFetchResult.VALID" in mta_sts_query(lab, domain)


@pytest.mark.parametrize("domain", ["policy-html.fixture.test", "policy-redirect.fixture.test",
                                    "cert-wrong-name.fixture.test", "txt-two-records.fixture.test"])
def test_broken_fixtures_are_not_valid(lab, domain):
    assert "STSFetchResult.VALID" not in mta_sts_query(lab, domain)


def test_the_lab_ca_is_needed(lab):
    answer = lab.run([str(MTA_STS_QUERY), "example.test"], timeout=30)
    assert "STSFetchResult.VALID" not in answer["stdout"]


def test_checkdmarc_validates_the_good_domain(lab):
    checkdmarc = Path(sys.executable).with_name("checkdmarc")
    if not checkdmarc.exists():
        pytest.fail(f"{checkdmarc} is missing: pip install checkdmarc")
    bundle = lab.facts["ca_bundle"]
    answer = lab.run([str(checkdmarc), "example.test", "-n", lab.facts["dns_server"],
                      "--check-mx-tls", "-f", "json"],
                     env={"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle}, timeout=60)
    assert answer["rc"] == 0, answer
    report = json.loads(answer["stdout"])
    assert report["mta_sts"]["valid"] is True, report["mta_sts"]
    assert report["smtp_tls_reporting"]["valid"] is True
    assert [(h["hostname"], h["starttls"]) for h in report["mx"]["hosts"]] == [
        ("mx1.example.test", True), ("mx2.example.test", True)]
