"""The `tracker` command of API.md."""

from sqlmodel import select

from tracker.models import Cooperative, Membership, User


def test_create_cooperative_and_users(runner, db):
    result = runner.invoke(args=["create-cooperative", "caz", "--name", "Cordillera Azul"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "create-user",
            "ana@example.org",
            "--role",
            "manager",
            "--cooperative",
            "CAZ",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["create-user", "root@example.org", "--role", "admin", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    coop = db.exec(select(Cooperative).where(Cooperative.code == "CAZ")).one()
    assert coop.country == "PE"
    ana = db.exec(select(User).where(User.email == "ana@example.org")).one()
    assert db.exec(select(Membership).where(Membership.user_id == ana.id)).one().role == "manager"
    assert db.exec(select(User).where(User.email == "root@example.org")).one().is_admin


def test_bad_input_is_a_clear_error_and_changes_nothing(runner, db):
    result = runner.invoke(args=["create-cooperative", "bad code!", "--name", "x"])
    assert result.exit_code == 1 and "capital letters" in result.output
    result = runner.invoke(
        args=["create-user", "x@example.org", "--role", "clerk", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 2 and "--cooperative" in result.output
    result = runner.invoke(
        args=["create-user", "x@example.org", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert db.exec(select(User)).first() is None
