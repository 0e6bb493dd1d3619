"""bench/cpu.py, the effects' poll of bench/run.py, the month-end's inbox and bench/effects.py,
run as the bench runs them (nothing imports bench but bench: each check runs in a Python of its
own)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc")


def run(code: str):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_cpu_of_each_process_per_month_and_the_ceiling_it_allows():
    use = run("""
        import json, subprocess, sys
        from bench import cpu
        from tools.waiting import wait_until
        spin = ("import time; end = time.process_time() + 0.6\\n"
                "while time.process_time() < end: pass\\ntime.sleep(60)")
        busy = subprocess.Popen([sys.executable, "-c", spin])
        smtp = subprocess.Popen([sys.executable, "-c", spin])
        processes = {"documents": busy, "smtp": smtp}
        before = cpu.sample(processes)
        # Alive when sampled: a reaped process's time is in its parent's (ours, here).
        wait_until(lambda: all(cpu.process_seconds(p.pid) >= 0.6 for p in (busy, smtp)), 60)
        after = cpu.sample(processes)
        busy.kill(), smtp.kill()
        print(json.dumps(cpu.used(before, after, 3)))
    """)
    per_month = use["ms_per_month"]
    # Each spinner spent >= 0.6 s (less what ran before the first sample): ≈ 200 ms a month.
    assert 100 <= per_month["documents"] and 100 <= per_month["smtp"]
    assert {"postgresql", "rabbitmq", "bench"} <= set(per_month)
    system = per_month["documents"] + per_month["postgresql"] + per_month["rabbitmq"]
    assert use["system_ms_per_month"] == pytest.approx(system, abs=0.2)  # not bench nor smtp
    assert use["ceiling_months_per_s"] == pytest.approx(
        use["cores"] * 1000 / use["system_ms_per_month"], rel=0.01)
    assert 0 <= use["steal_share"] <= 1 and use["busy_cores"] > 0


def test_a_process_restarted_between_the_samples_counts_from_its_start():
    spent = run("""
        import json, subprocess, sys
        from bench import cpu
        first = subprocess.Popen([sys.executable, "-c", "sum(range(10**7))"])
        first.wait()
        before = cpu.Sample(0.0, {"documents": (first.pid, 1000.0)},
                            {"busy": 0.0, "idle": 0.0, "steal": 0.0})
        second = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        after = cpu.sample({"documents": second})
        second.kill()
        print(json.dumps(cpu.used(before, after, 1)["ms_per_month"]["documents"]))
    """)
    assert 0 <= spent < 1000  # not after - 1000 s: the earlier process's time is not its own


def test_the_wait_asks_about_the_newest_month_until_done_then_about_every_other_at_once():
    asked = run("""
        import json
        import eventlet
        from bench.run import wait_for_months
        asked, overlapping, emails = [], [], []
        def check(month):
            asked.append(month)
            if asked.count("d") > 3:  # the newest month, done at its 4th ask
                overlapping.append(month)
                eventlet.sleep(0.2)  # a GET: the others are asked meanwhile
                overlapping.append(month)
            return asked.count("d") > 3 and (month != "b" or asked.count("b") > 1)
        pending = ["a", "b", "c", "d"]
        wait_for_months(pending, check, timeout=30,
                        also=lambda: emails.append(1) or len(emails) > 1)
        print(json.dumps([asked, overlapping[2:6], pending, len(emails)]))
    """)
    asks, overlapping, pending, emails = asked
    # "d" alone until done (its last ask appends twice); then the four at once ("b" not done
    # yet: all four started before one ended), then "b" again; then nothing left to ask
    # while the emails are waited for.
    assert asks[:4] == ["d"] * 4 and sorted(asks[4:8]) == ["a", "b", "c", "d"]
    assert asks[8:] == ["b"] and sorted(overlapping) == ["a", "b", "c", "d"]
    assert pending == [] and emails == 2


def test_at_the_timeout_the_pending_months_are_exactly_those_not_done():
    pending = run("""
        import json
        from bench.run import wait_for_months
        pending = ["a", "b", "c", "d"]
        wait_for_months(pending, lambda month: month in {"a", "c"}, timeout=0.3)
        print(json.dumps(pending))
    """)
    assert pending == ["b", "d"]


def test_the_wait_for_an_idle_stack_ends_once_its_processes_stop_working():
    waited = run("""
        import json, subprocess, sys
        from bench import cpu
        spin = ("import time; end = time.monotonic() + 1.5\\n"
                "while time.monotonic() < end: pass\\ntime.sleep(60)")
        busy = subprocess.Popen([sys.executable, "-c", spin])
        idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            settled = cpu.wait_idle({"documents": busy, "identity": idle}, window=0.3,
                                    timeout=30)
            still_busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            gave_up = cpu.wait_idle({"documents": still_busy}, window=0.3, timeout=1)
            still_busy.kill()
        finally:
            busy.kill(), idle.kill()
        print(json.dumps([settled, gave_up]))
    """)
    settled, gave_up = waited
    assert 1.0 <= settled < 10  # not before the spin ended, soon after it
    assert 1.0 <= gave_up < 3  # a process that never settles: the timeout ends the wait


def test_the_inbox_files_each_email_once_codes_by_recipient_and_dossier():
    inbox = run("""
        import json
        from email.message import EmailMessage
        from bench.month_end import Inbox
        def email(n, to, subject, body=""):
            message = EmailMessage()
            message["Message-ID"], message["Subject"] = f"<{n}@jalon.local>", subject
            if to:
                message["To"] = to
            message.set_content(body)
            return message
        sent = [email(1, "beneficiaire.1-0@x.org", "Vos identifiants de connexion"),
                email(2, "orga@x.org", "Votre code de vérification",
                      "Code pour le mois (dossier FM001/0000) :\\n 123456 \\n"),
                email(3, None, "Sans destinataire")]
        box = Inbox(lambda: list(sent))
        box.refresh()
        box.refresh()  # nothing new: nothing filed twice
        sent.append(email(4, "employeur.1-0@x.org", "Certificat de réalisation"))
        sent.append(email(5, "orga@x.org", "Votre code de vérification",
                          "Code (dossier FM001/0000) :\\n 654321\\n"))
        box.refresh()
        codes = {" ".join(key): found for key, found in box.codes.items()}
        print(json.dumps([codes, dict(box.to_beneficiaries_and_employers),
                          box.seen("orga@x.org", "FM001/0000")]))
    """)
    codes, counts, seen = inbox
    assert codes == {"orga@x.org FM001/0000": ["123456", "654321"]}
    assert counts == {"credentials": 1, "certified": 1} and seen == 2


def test_every_consumer_of_the_certified_event_is_asked():
    handlers = run("""
        import json
        from bench.effects import consumers
        print(json.dumps(consumers()))
    """)
    assert handlers == {service: [f"{service}.on_certified"] for service in (
        "documents", "dossiers", "identity", "integration", "notifications", "payments")}


def test_a_month_is_done_once_every_handler_recorded_its_event_since_the_burst(tmp_path):
    done = run(f"""
        import json
        from datetime import datetime, timedelta, timezone
        from sqlalchemy import MetaData, create_engine
        from bench.effects import EventsHandled
        from servicekit.tables import add_kit_tables
        since = datetime.now(timezone.utc)
        urls = {{s: f"sqlite:///{tmp_path}/{{s}}.db" for s in ("documents", "payments")}}
        handlers = {{"documents": ["documents.on_certified"],
                    "payments": ["payments.on_certified", "payments.on_other"]}}
        metadata = MetaData()
        _, processed = add_kit_tables(metadata)
        def record(service, *rows):
            engine = create_engine(urls[service])
            metadata.create_all(engine)
            with engine.begin() as connection:
                for handler, event_id, when in rows:
                    connection.execute(processed.insert().values(
                        event_id=event_id, handler=handler, processed_at=when))
            engine.dispose()
        later, before = since + timedelta(seconds=1), since - timedelta(seconds=1)
        record("documents", *[("documents.on_certified", e, later) for e in "abc"],
               ("documents.on_certified", "old", before), ("documents.on_x", "d", later))
        record("payments", *[("payments.on_certified", e, later) for e in "abd"],
               *[("payments.on_other", e, later) for e in ("a", "b", "old")])
        handled = EventsHandled(urls, handlers, since)
        print(json.dumps(sorted(handled.by_all())))
        handled.close()
    """)
    assert done == ["a", "b"]  # c and d lack a handler's record; "old" was before the burst
