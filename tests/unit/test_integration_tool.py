"""tools.integration: the permissions a funder's broker user gets, and grant's idempotence
(rabbitmqctl faked here; tests/integration/test_integration_access.py runs them on the broker)."""
from __future__ import annotations

import re

import pytest

from tools import integration
from tools.integration import AccessError, grant, permissions, revoke


class FakeRabbitmqctl:
    def __init__(self, users=()):
        self.users = set(users)
        self.calls: list[tuple] = []

    def __call__(self, *args, stdin=None):
        self.calls.append((*args, stdin))
        if args[0] == "add_user":
            self.users.add(args[1])
        return ""

    def user_exists(self, user):
        return user in self.users

    def commands(self):
        return [call[0] for call in self.calls]


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    declared = []
    monkeypatch.setattr(integration, "declare_queues", lambda uri, fid: declared.append(fid))
    return declared


def test_the_user_reads_its_two_queues_and_binds_its_live_queue_with_its_own_keys():
    rights = permissions("f-1")
    assert rights.configure == "^$" and rights.topic_write == "^$"
    assert re.match(rights.write, "integration.f-1.live")
    for name in ("jalon.integration", "integration.f-1.live", "integration.f-1.replay"):
        assert re.match(rights.read, name), name
    for name in ("integration.f-12.live", "integration.f-1.live.x", "integration.f-2.replay",
                 "jalon.integrationX", "certification.events", "amq.default"):
        assert not re.match(rights.read, name), name
    assert not re.match(rights.write, "integration.f-1.replay")
    assert re.match(rights.topic_read, "f-1.certification.month_certified.v1")
    for key in ("#", "*.certification.#", "f-12.#", "f-2.payments.#", "f-1"):
        assert not re.match(rights.topic_read, key), key


def test_a_new_user_gets_a_generated_password_on_stdin_then_the_permissions(no_broker):
    ctl = FakeRabbitmqctl()
    password = grant(ctl, "amqp://guest:guest@rabbitmq:5672/jalon", "f-1")
    assert len(password) >= 32
    assert ctl.calls[0] == ("add_user", "integration-f-1", password)  # stdin, not an argument
    assert ctl.commands()[1:] == ["set_permissions", "set_topic_permissions"]
    assert ctl.calls[1][:3] == ("set_permissions", "-p", "jalon")
    assert ctl.calls[2][3:6] == ("integration-f-1", "jalon.integration", "^$")
    assert no_broker == ["f-1"]


def test_granting_again_keeps_the_password_unless_one_is_given():
    ctl = FakeRabbitmqctl(users={"integration-f-1"})
    assert grant(ctl, "amqp://rabbitmq/%2F", "f-1") is None
    assert "add_user" not in ctl.commands() and "change_password" not in ctl.commands()
    assert ctl.calls[0][:3] == ("set_permissions", "-p", "/")
    assert grant(ctl, "amqp://rabbitmq/%2F", "f-1", "Given-passw0rd") is None
    assert ("change_password", "integration-f-1", "Given-passw0rd") in ctl.calls


@pytest.mark.parametrize("funder_id", ["a.b", "#", "*", "", "f 1", "x" * 65])
def test_a_funder_id_that_is_not_an_id_is_refused(funder_id):
    ctl = FakeRabbitmqctl()
    with pytest.raises(AccessError):
        grant(ctl, "amqp://rabbitmq/", funder_id)
    with pytest.raises(AccessError):
        revoke(ctl, "amqp://rabbitmq/", funder_id)
    assert ctl.calls == []


def test_main_prints_the_generated_password_once(monkeypatch, capsys):
    monkeypatch.setattr(integration, "Rabbitmqctl", lambda command: FakeRabbitmqctl())
    assert integration.main(["grant", "f-1"]) == 0
    out = capsys.readouterr().out
    assert out.count("Mot de passe (affiché une seule fois)") == 1


def test_main_reads_the_password_file(monkeypatch, tmp_path, capsys):
    ctl = FakeRabbitmqctl()
    monkeypatch.setattr(integration, "Rabbitmqctl", lambda command: ctl)
    (tmp_path / "pw").write_text("From-the-f1le\n")
    assert integration.main(["grant", "f-1", "--password-file", str(tmp_path / "pw")]) == 0
    assert ctl.calls[0] == ("add_user", "integration-f-1", "From-the-f1le")
    assert "Mot de passe" not in capsys.readouterr().out


def test_main_says_why_it_failed(monkeypatch, capsys):
    monkeypatch.setattr(integration, "Rabbitmqctl", lambda command: FakeRabbitmqctl())
    assert integration.main(["grant", "a.b"]) == 2
    assert "identifiant de financeur invalide" in capsys.readouterr().err
