"""The five cases of the sender role's lab proof, asserted from logs and queues.

Runs inside the lab after setup.yml and sender.yml. A real Postfix (the
sending instance the role configured) sends real mail to deploy-sender.test,
whose policy the collection deployed; the attacks are real changes of the
domain's MX record over RFC 2136. Each case waits for Postfix's own verdict
on its message (a log line with the message's queue id) against a deadline:
no sleeps, no timed assertions.

    cases.py BASE_DIR enforce   cases 1, 2, 3 and 5 (policy in enforce)
    cases.py BASE_DIR testing   case 4 (the same attack, policy in testing)

Prints the log lines that prove each case (kept for the docs and the notes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update

FACTS = json.loads(Path("/run/mta-sts-lab/facts.json").read_text(encoding="utf-8"))
DOMAIN = "deploy-sender.test"
REAL_MX = "mx.deploy-sender.test"
ATTACKER = "mx-attacker.lab.test"  # offers no STARTTLS
OUTSIDER = "mx-outsider.lab.test"  # valid TLS, not in the policy's mx list
RCPT = "alice@" + DOMAIN
DEADLINE = 30.0  # seconds for one message's verdict: a bound, not an expectation

BASE = Path(sys.argv[1])
CONF = BASE / "postfix"
MAILLOG = BASE / "maillog"
RECEIVER_LOG = Path(FACTS["logs_dir"]) / f"postfix-{REAL_MX}.log"
FIXTURED_LOG = Path(FACTS["logs_dir"]) / "fixtured.log"
RESOLVER = "socketmap:inet:127.0.0.21:8461:postfix"


class CaseFailed(AssertionError):
    pass


def say(text: str) -> None:
    print(text, flush=True)


def set_mx(host: str) -> None:
    """Replace the domain's MX record (RFC 2136, signed with the lab key)."""
    keyring = dns.tsigkeyring.from_text({FACTS["tsig_key_name"]: FACTS["tsig_key_secret"]})
    update = dns.update.Update(DOMAIN, keyring=keyring, keyalgorithm=FACTS["tsig_key_algorithm"])
    update.replace(DOMAIN + ".", 60, "MX", f"10 {host}.")
    response = dns.query.tcp(update, FACTS["dns_server"], port=int(FACTS["dns_port"]), timeout=5)
    if response.rcode() != dns.rcode.NOERROR:
        raise CaseFailed(f"MX update refused: {dns.rcode.to_text(response.rcode())}")
    say(f"  DNS: {DOMAIN} MX 10 {host}")


def policy_answer() -> str:
    """What the resolver tells Postfix for the domain (Postfix's own socketmap client)."""
    proc = subprocess.run(["postmap", "-c", str(CONF), "-q", DOMAIN, RESOLVER],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else f"(no policy, postmap exit {proc.returncode})"


def send(case: str) -> str:
    """Submit one message through the sending Postfix; returns its Message-ID."""
    message_id = f"<{case}.{uuid.uuid4().hex[:12]}@sender.lab.test>"
    body = (f"From: sender@lab.test\r\nTo: {RCPT}\r\nSubject: {case}\r\nMessage-ID: {message_id}\r\n\r\n"
            f"{case}\r\n")
    subprocess.run(["sendmail", "-C", str(CONF), "-f", "sender@lab.test", RCPT],
                   input=body.encode("ascii"), check=True)
    return message_id


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def wait_for(what: str, find):
    """Poll until FIND() returns something, within DEADLINE."""
    end = time.monotonic() + DEADLINE
    while True:
        found = find()
        if found:
            return found
        if time.monotonic() > end:
            raise CaseFailed(f"no {what} within {DEADLINE:.0f} s; sender log:\n{read(MAILLOG)[-3000:]}")
        time.sleep(0.1)


def queue_id(message_id: str) -> str:
    pattern = re.compile(r"postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=" + re.escape(message_id))
    return wait_for(f"queue id for {message_id}",
                    lambda: (m := pattern.search(read(MAILLOG))) and m.group(1))


def verdict(qid: str, after: int = 0) -> dict:
    """The next delivery attempt of QID logged after offset AFTER: status, relay, smtp pid, line."""
    pattern = re.compile(r"postfix/smtp\[(\d+)\]: " + qid + r": to=<[^>]+>, relay=(\S+), .* status=(\w+) (.*)")

    def find():
        m = pattern.search(read(MAILLOG), after)
        return m and {"pid": m.group(1), "relay": m.group(2), "status": m.group(3), "line": m.group(0),
                      "reason": m.group(4), "start": after, "end": m.end()}
    return wait_for(f"delivery verdict for {qid}", find)


def tls_line(result: dict, host: str) -> str | None:
    """The TLS summary the smtp process of RESULT logged for HOST just before its verdict.

    smtp processes are reused: only the lines between the previous verdict's
    search offset and this verdict belong to this attempt.
    """
    segment = read(MAILLOG)[result["start"]:result["end"]]
    found = re.findall(r"postfix/smtp\[" + result["pid"] + r"\]: \w+ TLS connection established to "
                       + re.escape(host) + r"\[[0-9.]+\]:25: .*", segment)
    return found[-1] if found else None


def queued(qid: str) -> dict | None:
    proc = subprocess.run(["postqueue", "-c", str(CONF), "-j"], capture_output=True, text=True, check=True)
    for line in proc.stdout.splitlines():
        entry = json.loads(line)
        if entry["queue_id"] == qid:
            return entry
    return None


def received_by_aiosmtpd(host: str, message_id: str) -> list[str]:
    return [line for line in read(FIXTURED_LOG).splitlines()
            if f"host={host} " in line and f"message_id={message_id}" in line]


def received_by_real_mx(message_id: str) -> list[str]:
    return [line for line in read(RECEIVER_LOG).splitlines() if f"message-id={message_id}" in line]


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


def delivered_verified(case: str, qid: str, message_id: str, after: int = 0) -> dict:
    result = verdict(qid, after)
    expect(result["status"] == "sent" and result["relay"].startswith(REAL_MX + "["),
           f"{case}: expected delivery to {REAL_MX}: {result['line']}")
    tls = tls_line(result, REAL_MX)
    expect(bool(tls) and tls.startswith("postfix/smtp[%s]: Verified " % result["pid"]),
           f"{case}: no 'Verified TLS connection established' to {REAL_MX} from smtp[{result['pid']}]: {tls}")
    received = wait_for(f"{message_id} in {REAL_MX}'s log", lambda: received_by_real_mx(message_id))
    say(f"  sender:   {tls}\n  sender:   {result['line']}\n  receiver: {received[0]}")
    return result


def deferred_attack(case: str, attacker: str, message_id: str, qid: str, reason: str) -> None:
    result = verdict(qid)  # the first attempt
    expect(result["status"] == "deferred" and result["relay"].startswith(attacker + "["),
           f"{case}: expected the mail deferred at {attacker}: {result['line']}")
    expect(reason in result["reason"], f"{case}: expected '{reason}' in: {result['line']}")
    entry = queued(qid)
    expect(entry is not None and entry["queue_name"] == "deferred",
           f"{case}: {qid} is not in the deferred queue: {entry}")
    reasons = [r.get("delay_reason", "") for r in entry["recipients"]]
    # The attempt is over (its verdict is logged): whatever the attacker got, it has it now.
    got = received_by_aiosmtpd(attacker, message_id)
    expect(not got, f"{case}: {attacker} received the mail: {got}")
    expect(not received_by_real_mx(message_id), f"{case}: the real MX got it during the attack")
    say(f"  sender:   {result['line']}\n  queue:    {qid} deferred: {reasons[0]}\n"
        f"  {attacker}: nothing received (fixtured.log has no line for {message_id})")


def enforce() -> None:
    say(f"policy for {DOMAIN}: {policy_answer()}")
    expect(policy_answer().startswith(f"secure match={REAL_MX}"), "the resolver gives no enforce policy")

    say("case 1: delivered over TLS with a verified certificate")
    m1 = send("case1")
    delivered_verified("case 1", queue_id(m1), m1)

    say("case 2: an attacker MX without STARTTLS in the path (MX record changed over RFC 2136)")
    set_mx(ATTACKER)
    m2 = send("case2")
    q2 = queue_id(m2)
    deferred_attack("case 2", ATTACKER, m2, q2, "TLS is required, but was not offered")

    say("case 3: an MX outside the policy's mx patterns (valid TLS for its own name)")
    set_mx(OUTSIDER)
    q3_offset = len(read(MAILLOG))
    m3 = send("case3")
    q3 = queue_id(m3)
    deferred_attack("case 3", OUTSIDER, m3, q3, "certificate")
    outsider_tls = tls_line(verdict(q3, q3_offset), OUTSIDER)
    say(f"  sender:   {outsider_tls}")

    say("case 5: the attack ends; the deferred mail is delivered over verified TLS (postqueue -f)")
    set_mx(REAL_MX)
    offset = len(read(MAILLOG))
    subprocess.run(["postqueue", "-c", str(CONF), "-f"], check=True)
    for case, qid, message_id in (("case 2", q2, m2), ("case 3", q3, m3)):
        delivered_verified(f"case 5 ({case}'s mail)", qid, message_id, after=offset)
    wait_for("an empty queue", lambda: queued(q2) is None and queued(q3) is None)
    say("  queue:    empty")


def testing() -> None:
    answer = policy_answer()
    say(f"policy for {DOMAIN} (testing): {answer}")
    expect(not answer.startswith("secure"), f"testing mode still enforced: {answer}")
    say("case 4: the same attack with the policy in testing mode delivers the mail to the attacker")
    set_mx(ATTACKER)
    try:
        m4 = send("case4")
        result = verdict(queue_id(m4))
        expect(result["status"] == "sent" and result["relay"].startswith(ATTACKER + "["),
               f"case 4: expected delivery to {ATTACKER}: {result['line']}")
        got = wait_for(f"{m4} at {ATTACKER}", lambda: received_by_aiosmtpd(ATTACKER, m4))
        expect("tls=no" in got[0], f"case 4: {got[0]}")
        say(f"  sender:   {result['line']}\n  {ATTACKER}: {got[0].split(' INFO ', 1)[-1]}")
    finally:
        set_mx(REAL_MX)


if __name__ == "__main__":
    {"enforce": enforce, "testing": testing}[sys.argv[2]]()
    say("ok")
