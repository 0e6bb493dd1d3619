r"""A funder's access to its public events on RabbitMQ (issue 17).

    python -m tools.integration grant <funder_id> [--password-file FILE]
    python -m tools.integration revoke <funder_id>

`grant` creates, or brings back in line, the funder's broker user `integration-<funder_id>`,
its durable queues `integration.<funder_id>.live` (bound to `<funder_id>.#` on the exchange
jalon.integration) and `integration.<funder_id>.replay` (where its replays arrive), and the
permissions to read them and nothing else. A new user's password is generated and printed once,
unless --password-file gives it; an existing user keeps its password unless --password-file
gives a new one. `revoke` deletes the user and both queues (unread events pile up otherwise).

The vhost, exchange and queues are those of JALON_AMQP_URI (declared with its user);
rabbitmqctl runs through JALON_RABBITMQCTL (e.g. "docker compose exec -T rabbitmq
rabbitmqctl"). Exit status 0: done, 2: the broker or rabbitmqctl refused (printed).

The permissions (RabbitMQ's configure, write and read patterns on the vhost's resources):
- configure `^$`: the user declares and deletes nothing;
- write `^integration\.<id>\.live$`: binding its live queue (queue.bind needs write on the
  queue and read on the exchange), so that it may narrow it to some events;
- read `^(jalon\.integration|integration\.<id>\.(live|replay))$`: the exchange, as a binding's
  source, and its two queues, to consume them;
- topic permissions on jalon.integration: read `^<id>\.`, checked on every binding key, so
  binding `<another funder>.#` or `#` is refused; write `^$` (it publishes nothing).
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from amqp.exceptions import AMQPError
from kombu import Connection, Exchange, Queue
from kombu.exceptions import KombuError

from contracts.export import broker_address
from contracts.integration import replay_queue
from contracts.public import INTEGRATION_EXCHANGE
from servicekit import config

FUNDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # contracts.common.Id: no dot, no wildcard
RABBITMQCTL_TIMEOUT = 60


class AccessError(Exception):
    """rabbitmqctl or the broker refused."""


def broker_user(funder_id: str) -> str:
    return f"integration-{funder_id}"


def live_queue(funder_id: str) -> str:
    return f"integration.{funder_id}.live"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str
    topic_write: str
    topic_read: str


def permissions(funder_id: str) -> Permissions:
    fid = re.escape(funder_id)
    return Permissions(
        configure="^$",
        write=rf"^integration\.{fid}\.live$",
        read=rf"^({re.escape(INTEGRATION_EXCHANGE)}|integration\.{fid}\.(live|replay))$",
        topic_write="^$",
        topic_read=rf"^{fid}\.",
    )


class Rabbitmqctl:
    """rabbitmqctl through the configured command; a password goes on stdin, never in the
    arguments (other users of the host see those)."""

    def __init__(self, command: str):
        self.command = shlex.split(command)

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([*self.command, *args], input=stdin, capture_output=True,
                              text=True, timeout=RABBITMQCTL_TIMEOUT)
        if done.returncode != 0:
            raise AccessError(f"rabbitmqctl {args[0]} : {(done.stderr or done.stdout).strip()}")
        return done.stdout

    def user_exists(self, user: str) -> bool:
        listed = json.loads(self("list_users", "--quiet", "--formatter", "json") or "[]")
        return any(entry["user"] == user for entry in listed)


def grant(ctl: Rabbitmqctl, amqp_uri: str, funder_id: str,
          password: str | None = None) -> str | None:
    """Brings the funder's access in line; returns the new user's generated password (None
    when the password was given or the user kept its own)."""
    _check(funder_id)
    user, vhost = broker_user(funder_id), broker_address(amqp_uri)[2]
    generated = None
    if not ctl.user_exists(user):
        generated = None if password else secrets.token_urlsafe(24)
        ctl("add_user", user, stdin=password or generated)
    elif password:
        ctl("change_password", user, stdin=password)
    declare_queues(amqp_uri, funder_id)
    rights = permissions(funder_id)
    ctl("set_permissions", "-p", vhost, user, rights.configure, rights.write, rights.read)
    ctl("set_topic_permissions", "-p", vhost, user, INTEGRATION_EXCHANGE, rights.topic_write,
        rights.topic_read)
    return generated


def revoke(ctl: Rabbitmqctl, amqp_uri: str, funder_id: str) -> None:
    _check(funder_id)
    if ctl.user_exists(broker_user(funder_id)):
        ctl("delete_user", broker_user(funder_id))
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for queue in (live_queue(funder_id), replay_queue(funder_id)):
            channel.queue_delete(queue)


def declare_queues(amqp_uri: str, funder_id: str) -> None:
    """The exchange and both queues, durable, as the integration service declares them."""
    exchange = Exchange(INTEGRATION_EXCHANGE, type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        Queue(live_queue(funder_id), exchange, routing_key=f"{funder_id}.#",
              durable=True)(channel).declare()
        Queue(replay_queue(funder_id), durable=True)(channel).declare()


def _check(funder_id: str) -> None:
    if not FUNDER_ID.match(funder_id):
        raise AccessError(f"identifiant de financeur invalide : {funder_id!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["grant", "revoke"])
    parser.add_argument("funder_id")
    parser.add_argument("--password-file", type=Path,
                        help="grant: the user's password, instead of a generated one")
    args = parser.parse_args(argv)
    settings = config.load()
    ctl = Rabbitmqctl(settings.rabbitmqctl)
    try:
        if args.command == "revoke":
            revoke(ctl, settings.amqp_uri, args.funder_id)
            print(f"Accès supprimé : {broker_user(args.funder_id)} et ses files.")
            return 0
        password = args.password_file.read_text().strip() if args.password_file else None
        generated = grant(ctl, settings.amqp_uri, args.funder_id, password)
    except (AccessError, AMQPError, KombuError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"Échec : {exc}", file=sys.stderr)
        return 2
    print(f"Accès prêt : utilisateur {broker_user(args.funder_id)}, files "
          f"{live_queue(args.funder_id)} et {replay_queue(args.funder_id)}.")
    if generated:
        print(f"Mot de passe (affiché une seule fois) : {generated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
