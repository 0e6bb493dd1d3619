"""Payments' rules, pure: month locks (locks), who sees what (access), payments and their lines
(payments), the grouped list and its export pages (listing), bank details (bank) and the
credit-note settlement mode (credit_notes).

No Nameko, no SQLAlchemy: handlers.py loads these objects through the repositories and passes
the clock in.
"""
