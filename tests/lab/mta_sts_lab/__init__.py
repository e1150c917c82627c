"""The mta-sts lab: a loopback internet for the collection tests (see docs/lab.md)."""
