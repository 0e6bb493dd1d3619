"""Plumbing shared by every Jalon service: config, database, outbox, events, RPC, logging."""
