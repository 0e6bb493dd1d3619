"""The notification centre in memory: models.Notifications on dicts (issue 16)."""
from __future__ import annotations

from datetime import datetime

from services.notifications.domain import (AlertPerson, AlertSetting, Digest, Notification,
                                          NotificationRead)


class InMemoryNotifications:
    def __init__(self):
        self.by_id: dict[str, Notification] = {}
        self.reads: dict[tuple[str, str], NotificationRead] = {}

    def add(self, notification: Notification) -> None:
        self.by_id[notification.id] = notification

    def all(self) -> list[Notification]:
        return list(self.by_id.values())

    def _seen(self, audiences) -> list[Notification]:
        return [n for n in self.by_id.values() if (n.audience_type, n.audience_id) in audiences]

    def _read_at(self, notification_id: str, user_id: str) -> datetime | None:
        read = self.reads.get((notification_id, user_id))
        return read.read_at if read else None

    def of_person(self, audiences, user_id, unread_only, limit, offset):
        rows = [(n, self._read_at(n.id, user_id)) for n in self._seen(audiences)]
        if unread_only:
            rows = [row for row in rows if row[1] is None]
        rows.sort(key=lambda row: (row[0].created_at, row[0].id), reverse=True)
        return rows[offset:offset + limit]

    def unread_count(self, audiences, user_id) -> int:
        return len(self.unread_ids(audiences, user_id))

    def seen_one(self, audiences, notification_id):
        return next((n for n in self._seen(audiences) if n.id == notification_id), None)

    def for_digest(self, audiences, user_id, kinds, since, until) -> list[Notification]:
        return sorted((n for n in self._seen(audiences)
                       if self._read_at(n.id, user_id) is None and n.kind in kinds
                       and since < n.created_at <= until), key=lambda n: (n.created_at, n.id))

    def unread_ids(self, audiences, user_id) -> list[str]:
        return [n.id for n in self._seen(audiences) if self._read_at(n.id, user_id) is None]

    def read_mark(self, notification_id, user_id):
        return self.reads.get((notification_id, user_id))

    def mark_read(self, read: NotificationRead) -> None:
        self.reads[(read.notification_id, read.user_id)] = read


class InMemoryAlertSettings:
    """models.AlertSettings on dicts."""

    def __init__(self):
        self.persons: dict[str, AlertPerson] = {}
        self.settings: dict[tuple[str, str], AlertSetting] = {}

    def person(self, user_id):
        return self.persons.get(user_id)

    def save_person(self, person: AlertPerson) -> AlertPerson:
        self.persons[person.user_id] = person
        return person

    def of_person(self, user_id) -> list[AlertSetting]:
        return [s for (user, _), s in self.settings.items() if user == user_id]

    def save(self, setting: AlertSetting) -> None:
        self.settings[(setting.user_id, setting.kind)] = setting

    def frequencies(self, asked):
        found = {}
        for audience_type, audience_id, kind in asked:
            for person in self.persons.values():
                named = person.party_id if audience_type == "party" else person.user_id
                setting = self.settings.get((person.user_id, kind))
                if named == audience_id and setting:
                    found[audience_type, audience_id, kind] = setting.frequency
                    break
        return found

    def digest_persons(self) -> list[AlertPerson]:
        return sorted((p for p in self.persons.values() if p.email),
                      key=lambda p: p.user_id)

    def persons_of(self, audience_type, audience_id) -> list[AlertPerson]:
        def named(p: AlertPerson) -> bool:
            if audience_type == "organisation":
                return p.organisation_id == audience_id.split(":")[0]
            if audience_type == "funder":
                return (p.funder_id == audience_id and p.organisation_id is None
                        and p.party_id is None)
            return (p.party_id if audience_type == "party" else p.user_id) == audience_id
        return sorted((p for p in self.persons.values() if p.email and named(p)),
                      key=lambda p: p.user_id)


class InMemoryDigests:
    """models.Digests on a dict: a claim is an insert that finds the key taken or not."""

    def __init__(self):
        self.by_key: dict[tuple, Digest] = {}

    def claim(self, digest: Digest) -> bool:
        if (digest.user_id, digest.day) in self.by_key:
            return False
        self.by_key[(digest.user_id, digest.day)] = digest
        return True

    def record(self, user_id, day, notifications) -> None:
        self.by_key[(user_id, day)].notifications = notifications

    def previous(self, user_id, day):
        return max((d for (user, d_day), d in self.by_key.items()
                    if user == user_id and d_day < day), key=lambda d: d.day, default=None)
