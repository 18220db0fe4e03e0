"""What the audit log follows is declared in one place (services/audit.py), and every
table and column the app has is covered by it: a new table is audited and proven by
`tracker audit verify` unless it is named, with a reason, as not audited."""

from __future__ import annotations

import pytest

from tracker.models import metadata
from tracker.services import audit, audit_proof


def test_every_audited_table_has_one_uuid_id_key():
    """Verify walks each table in id order beside the log's entries for the same ids."""
    for table in audit_proof.audited_tables():
        keys = [c.name for c in table.primary_key.columns]
        assert keys == ["id"], f"{table.name}: audited tables need a single id key, not {keys}"
        assert table.c.id.type.python_type.__name__ == "UUID", table.name


def test_the_unaudited_tables_exist_and_say_why():
    for name, reason in audit.UNAUDITED.items():
        assert name in metadata.tables, f"{name} is not a table"
        assert len(reason) > 10, name


def test_each_column_the_log_does_not_follow_exists_and_says_why():
    for key, reason in audit.NOT_FOLLOWED.items():
        table, column = key.split(".")
        tables = metadata.tables.values() if table == "*" else [metadata.tables[table]]
        assert any(column in t.c for t in tables), f"{key} names no column"
        assert len(reason) > 10, key


@pytest.mark.parametrize("table", audit_proof.audited_tables(), ids=lambda t: t.name)
def test_columns_left_out_of_update_entries_are_not_compared(table):
    """A column whose changes the ORM hook does not log (audit.NOISE) would always differ
    from its first entry: it must be declared not followed, with a reason."""
    names = {c.name for c in audit_proof.followed(table)}
    assert not (names & audit.NOISE), f"{table.name}: {names & audit.NOISE} are not logged"


def test_secrets_are_logged_as_fingerprints_only():
    print_ = audit.fingerprint("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    assert print_.startswith("sha256:") and "argon2" not in print_
    assert audit.logged("password_hash", "secret") == audit.fingerprint("secret")
    assert audit.logged("head_name", "Rosa") == "Rosa"


def test_the_checkpoint_key_comes_from_the_environment_not_the_database(monkeypatch):
    from tracker import config

    settings = {"ENV_NAME": "testing", "SECRET_KEY": "s3cret"}
    derived = audit_proof.key_from(config.load("/tmp", dict(settings)))
    assert derived != b"s3cret" and len(derived) == 32
    monkeypatch.setenv("TRACKER_AUDIT_KEY", "kept in the vault")
    assert audit_proof.key_from(config.load("/tmp", dict(settings))) == b"kept in the vault"
