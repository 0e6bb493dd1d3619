"""How `jalon` reaches the running system: RPC calls over the broker JALON_AMQP_URI names (the
settings `make run` uses), and the dead-letter queue. Whatever goes wrong becomes an
`OpsError`: one line saying what could not be reached, which the command line prints."""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")
# py-amqp warns of the broker's answer to a call for a service with no queue, which
# `Services.call` already reports in its one line.
logging.getLogger("amqp").setLevel(logging.ERROR)

from kombu.exceptions import OperationalError  # noqa: E402
from kombu.utils.url import maybe_sanitize_url  # noqa: E402
from nameko.exceptions import MethodNotFound, RpcTimeout, UnknownService  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from contracts.common.errors import JalonError  # noqa: E402
import servicekit.rpc  # noqa: E402,F401  (a remote error comes back as its own class)
from servicekit import config  # noqa: E402

# A month-end count is one aggregate query: a service this slow is not answering.
RPC_TIMEOUT = 10.0


class OpsError(Exception):
    """Why a command could not do its work, in one line; `code`: a service's refusal's."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.code = code


def unreachable(amqp_uri: str, exc: BaseException) -> OpsError:
    return OpsError(f"broker unreachable at {maybe_sanitize_url(amqp_uri)} "
                    f"({type(exc).__name__}: {exc})")


class Services:
    """`call(service, method, *args)`: a service that does not answer is an OpsError naming it."""

    def __init__(self, cluster, amqp_uri: str, timeout: float):
        self._cluster = cluster
        self._amqp_uri = amqp_uri
        self._timeout = timeout

    def call(self, service: str, method: str, *args):
        try:
            return getattr(getattr(self._cluster, service), method)(*args)
        except RpcTimeout:
            raise OpsError(f"{service} not answering (no reply within "
                           f"{self._timeout:g} s)") from None
        except MethodNotFound:
            raise OpsError(f"{service} has no {method}", "method_not_found") from None
        except UnknownService:
            raise OpsError(f"{service} not answering (no {service} consumer on the broker: "
                           "not started?)") from None
        except (OSError, OperationalError) as exc:
            raise unreachable(self._amqp_uri, exc) from None
        except JalonError as exc:
            raise OpsError(f"{service} refused: {exc}", exc.code) from None


@contextlib.contextmanager
def services(timeout: float = RPC_TIMEOUT) -> Iterator[Services]:
    settings = config.load()
    proxy = ClusterRpcProxy(settings.nameko_config(), timeout=timeout)
    try:
        cluster = proxy.start()
    except (OSError, OperationalError) as exc:
        raise unreachable(settings.amqp_uri, exc) from None
    try:
        yield Services(cluster, settings.amqp_uri, timeout)
    finally:
        proxy.stop()


@contextlib.contextmanager
def dead_letter_queue() -> Iterator[tuple[str, str]]:
    """(broker URI, dead-letter queue name); broker failures inside become OpsErrors."""
    settings = config.load()
    try:
        yield settings.amqp_uri, settings.dead_letter_queue
    except (OSError, OperationalError) as exc:
        raise unreachable(settings.amqp_uri, exc) from None
