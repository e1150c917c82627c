"""pebble: the lab's ACME CA, validating HTTP-01 through the lab DNS."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from .certs import CertStore
from .scenario import CertSpec, World

MANAGEMENT_PORT = 15000


def write_config(world: World, directory: Path, certs: CertStore) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # The API certificate comes from the lab CA, so the bundle verifies it.
    cert, key = certs.issue(CertSpec([world.acme_name, world.acme_address]))
    config = {"pebble": {
        "listenAddress": f"{world.acme_address}:443",
        "managementListenAddress": f"{world.acme_address}:{MANAGEMENT_PORT}",
        "certificate": str(cert),
        "privateKey": str(key),
        # Ports pebble's validator connects to on the identifier's address.
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}
    path = directory / "pebble.json"
    path.write_text(json.dumps(config, indent=2), encoding="ascii")
    return path


def command(world: World, config: Path) -> list[str]:
    return ["pebble", "-config", str(config), "-dnsserver", f"{world.dns_address}:53"]


ENVIRONMENT = {
    "PEBBLE_VA_NOSLEEP": "1",      # validate at once instead of after a random delay
    "PEBBLE_WFE_NONCEREJECT": "0",  # no random badNonce errors: tests must be deterministic
}


def directory_url(world: World) -> str:
    return f"https://{world.acme_name}/dir"


def _get(url: str, ca_file: Path, timeout: float) -> bytes:
    context = ssl.create_default_context(cafile=str(ca_file))
    # No proxy: a proxy from the environment is unreachable inside the lab.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=timeout) as response:
        return response.read()


def answers(world: World, ca_file: Path, timeout: float = 1.0) -> bool:
    data = json.loads(_get(f"https://{world.acme_address}/dir", ca_file, timeout))
    return "newOrder" in data


def fetch_root(world: World, ca_file: Path, timeout: float = 2.0) -> bytes:
    """pebble makes a new root at every start; only its management API knows it."""
    return _get(f"https://{world.acme_address}:{MANAGEMENT_PORT}/roots/0", ca_file, timeout)
