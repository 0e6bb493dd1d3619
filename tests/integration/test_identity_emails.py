"""identity with the REAL notifications service delivering to a real SMTP server (aiosmtpd):
the provisional password arrives by email, and the first login uses it."""
from __future__ import annotations

import re

import pytest

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from tests.support.integration import PASSWORD, bootstrap, new_organisation
from tools.waiting import wait_until


@pytest.fixture
def stack(smtp, service_env, container_factory):
    service_env("notifications")
    service_env("identity")
    container_factory(NotificationsService)
    container_factory(IdentityService)
    return smtp


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_credentials_then_reset_link_arrive_by_smtp(stack, rpc):
    admin = bootstrap(rpc)
    rpc.identity.create_organisation(admin, new_organisation(1, "marie"))
    wait_until(lambda: len(stack.messages) == 1)
    message = stack.messages[0]
    assert message["To"] == "marie@example.org"
    assert message["Subject"] == "Vos identifiants de connexion"
    password = re.search(r"Mot de passe provisoire : (\S+)", body_of(message)).group(1)
    session = rpc.identity.login({"identifier": "marie", "password": password})
    assert session["must_personalise"]

    actor = rpc.identity.authenticate(session["access_token"])
    rpc.identity.personalise(actor, {"new_identifier": "marie", "current_password": password,
                                     "new_password": PASSWORD,
                                     "new_password_confirmation": PASSWORD})
    rpc.identity.request_password_reset({"identifier": "marie"})
    wait_until(lambda: len(stack.messages) == 2)
    link = re.search(r"(http\S+token=\S+)", body_of(stack.messages[1])).group(1)
    token = link.split("token=", 1)[1]
    rpc.identity.reset_password({"token": token, "new_password": "Autre-Secret_2027",
                                 "new_password_confirmation": "Autre-Secret_2027"})
    rpc.identity.login({"identifier": "marie", "password": "Autre-Secret_2027"})
