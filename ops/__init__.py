"""`jalon`, the ops team's command line (docs/operations.md): month-end status, dead letters,
outboxes, jobs, emails. It talks to the running system over the broker JALON_AMQP_URI names,
like the services do, and imports none of them."""
