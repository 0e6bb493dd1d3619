"""Run one Jalon service (or the gateway) in this process: `python -m servicekit.run NAME`.

Monkey-patches for eventlet first (before anything imports sockets or threads), sets up logging
once, optionally migrates the service's database, then hands over to Nameko's runner.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402  must precede every other import

import argparse  # noqa: E402
import importlib  # noqa: E402
import signal  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from servicekit import config, logging  # noqa: E402


def service_class(name: str):
    module = importlib.import_module("gateway.service" if name == "gateway"
                                     else f"services.{name}.service")
    classes = [obj for obj in vars(module).values()
               if isinstance(obj, type) and getattr(obj, "name", None) == name
               and obj.__module__ == module.__name__]
    if len(classes) != 1:
        raise SystemExit(f"{module.__name__} must define exactly one class named {name!r}")
    return classes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=[*config.SERVICES, "gateway"])
    parser.add_argument("--migrate", action="store_true", help="upgrade the database first")
    args = parser.parse_args()
    settings = config.load()
    logging.setup(args.name, settings.log_format, settings.log_level)
    if args.migrate and args.name != "gateway":
        from servicekit import migrate
        migrate.upgrade(args.name)
    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(service_class(args.name))

    def shutdown(*_):
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    logging.get_logger(__name__).info("service_started", name=args.name)
    runner.wait()


if __name__ == "__main__":
    main()
