"""What several commands share: loading settings and opening the store and the (sealed) audit log."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from agent.audit import AuditLog, Redactor
from agent.audit_seal import open_seal
from agent.settings import Settings, load_settings
from agent.store import Store, open_store


@dataclass
class App:
    settings: Settings
    store: Store
    audit: AuditLog


def open_app(args: argparse.Namespace) -> App:
    settings = load_settings(getattr(args, "config", None))
    store = open_store(settings)
    audit = AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()), seal=open_seal(settings))
    return App(settings, store, audit)
