"""payments' I/O besides its database (models.py) and the RPC clients of handlers.Ports: none
yet. The remittance advice is rendered by the documents service and emails are sent by
notifications, both reached over RPC."""
