"""The `tracker` command of API.md."""

import gc

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
    result = runner.invoke(args=["demo", "--families", "60"])
    assert result.exit_code == 2 and "--families" in result.output, result.output
    assert db.exec(select(User)).first() is None


def test_season_volumes_are_checked_and_rebuilt(runner, db, world):
    """`tracker season-volumes` compares the per-season sums with the deliveries, names
    a cooperative whose sums differ (exit 1), and `--rebuild` recomputes them."""
    from tests import factories as f
    from tracker.models import SeasonVolume

    family = f.make_family(db, world.a)
    f.make_delivery(db, world.a, family, f.make_plot(db, family))
    db.commit()
    result = runner.invoke(args=["season-volumes"])
    assert result.exit_code == 0, result.output
    assert "of 2 cooperative(s) match" in result.output
    db.delete(db.exec(select(SeasonVolume)).first())
    db.commit()
    result = runner.invoke(args=["season-volumes", "--cooperative", "coopa"])
    assert result.exit_code == 1
    assert "COOPA: missing" in result.output and "--rebuild" in result.output
    result = runner.invoke(args=["season-volumes", "--rebuild", "--cooperative", "COOPA"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["season-volumes", "--cooperative", "nope"]).exit_code == 1


def test_a_gunicorn_master_loads_what_every_worker_would(app, client, world):
    """before_fork (gunicorn.conf.py, `tracker serve`) compiles the templates, maps the
    models and loads both languages' catalogues and locale data in the master, so a
    worker's first page in either language reads nothing from disk; the app still
    answers in both languages afterwards."""
    from flask_babel import get_babel

    from tracker import before_fork

    try:
        before_fork(app)
    finally:
        gc.unfreeze()  # before_fork froze this test process's heap
    with app.app_context():
        cached = get_babel(app).instance.domain_instance.cache
    assert {locale for locale, _domain in cached} >= {"es", "en"}
    assert 'lang="es"' in client.get("/login").get_data(as_text=True)


def test_a_cacao_cooperative_is_created_with_its_season(runner, db, client, auth, world):
    """A cacao cooperative's season is the calendar year, but the admin page and the command
    made every cooperative's season start in April (only the API took the month): its
    season reports, caps and premiums ran April to March. Both take the month now; a bad
    month is refused by name and creates nothing."""
    auth.login("admin@example.org")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'name="season_start_month"' in page and '<option value="1">enero</option>' in page
    assert client.post(
        "/admin/cooperatives", data={"code": "WEB", "name": "Web", "season_start_month": "1"}
    ).status_code in (302, 303)
    for junk in ("13", "x", "-1", "99999999999999999999"):
        answer = client.post(
            "/admin/cooperatives", data={"code": "JUNK", "name": "J", "season_start_month": junk}
        )
        assert answer.status_code < 500
    db.expire_all()
    assert (
        db.exec(select(Cooperative).where(Cooperative.code == "WEB")).one().season_start_month == 1
    )
    assert db.exec(select(Cooperative).where(Cooperative.code == "JUNK")).first() is None
    db.commit()
    shown = client.get("/admin/", follow_redirects=True).get_data(as_text=True)
    assert "Elija un mes del 1 al 12." in shown
    result = runner.invoke(
        args=["create-cooperative", "cac", "--name", "Cacao", "--season-start-month", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (
        db.exec(select(Cooperative).where(Cooperative.code == "CAC")).one().season_start_month == 1
    )
    db.commit()
    bad = runner.invoke(
        args=["create-cooperative", "cad", "--name", "x", "--season-start-month", "13"]
    )
    assert bad.exit_code == 2 and "season-start-month" in bad.output
