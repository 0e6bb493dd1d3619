"""Message shapes shared by every service: the event envelope, event payloads, RPC payloads.

The only package every service and the gateway may import besides servicekit.
"""
