"""The mta-sts lab: a loopback internet for the collection tests (see docs/lab.md)."""

from pathlib import Path

# Fixed paths other tools rely on (integration targets read the facts file,
# since ansible-test filters environment variables).
STATE_DIR = Path("/run/mta-sts-lab")
FACTS_PATH = STATE_DIR / "facts.json"
