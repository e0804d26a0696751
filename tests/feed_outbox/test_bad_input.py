"""Bad activity data fails the save with an error naming model and field, and nothing is written."""

import datetime
import decimal
import logging
import uuid

import pytest
from django.core import checks
from django.db import connection, transaction
from django.test import override_settings

from feed_outbox.exceptions import ActivityDataError, OutboxNotMigrated
from feed_outbox.models import OutboxEvent
from tests.factories import PostFactory, UserFactory
from tests.write_app.models import Note, Post, Untimed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def save_note(extra, user=None, atomic=False):
    note = Note(user=user or UserFactory(), posted_at=datetime.datetime.now(datetime.UTC))
    note.extra = extra
    if atomic:
        with transaction.atomic():
            note.save()
    else:
        note.save()
    return note


def nothing_written():
    return not Note.objects.exists() and not OutboxEvent.objects.exists()


def test_datetimes_decimals_uuids_and_model_references_are_serialised():
    user = UserFactory()
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    save_note(
        {
            "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "day": datetime.date(2026, 1, 2),
            "price": decimal.Decimal("9.99"),
            "uid": uid,
            "owner": user,
            "nested": {"tags": ("a", "b"), "ref": user},
        },
        user=user,
    )
    payload = OutboxEvent.objects.get().payload
    assert payload["when"] == "2026-01-02T03:04:05.000000"
    assert payload["day"] == "2026-01-02"
    assert payload["price"] == "9.99"
    assert payload["uid"] == str(uid)
    assert payload["owner"] == f"auth.User:{user.pk}"
    assert payload["nested"] == {"tags": ["a", "b"], "ref": f"auth.User:{user.pk}"}


@pytest.mark.parametrize("atomic", [False, True], ids=["autocommit", "in-transaction"])
def test_an_unserialisable_value_names_model_field_and_type_and_rolls_back(atomic):
    with pytest.raises(ActivityDataError) as error:
        save_note({"blob": object()}, atomic=atomic)
    message = str(error.value)
    assert "write_app.Note" in message
    assert "'blob'" in message
    assert "builtins.object" in message
    assert nothing_written()


def test_a_nested_bad_value_names_its_path():
    with pytest.raises(ActivityDataError, match=r"'meta\.tags'.*builtins\.set"):
        save_note({"meta": {"tags": {"a", "b"}}})
    assert nothing_written()


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"text": "a\x00b"}, "'text'"),
        ({"meta": {"bad\x00key": 1}}, "'meta key'"),
        ({"text": "lone \ud800 surrogate"}, "'text'"),
    ],
    ids=["nul-in-value", "nul-in-key", "lone-surrogate"],
)
def test_text_jsonb_cannot_store_is_refused_at_save_naming_the_field(extra, field):
    with pytest.raises(ActivityDataError, match=field) as error:
        save_note(extra)
    assert "write_app.Note" in str(error.value)
    assert nothing_written()


def test_nan_is_not_json():
    with pytest.raises(ActivityDataError, match="'score'"):
        save_note({"score": float("nan")})
    assert nothing_written()


@pytest.mark.parametrize(
    "extra, named",
    [
        ([("text", "hi")], "returned a list, not a dict"),
        ("text", "returned a str, not a dict"),
        ({1: "one"}, "keys that are not strings: 1"),
    ],
    ids=["list", "str", "int-key"],
)
def test_extra_data_that_is_not_a_dict_of_names_is_refused_naming_the_model(extra, named):
    with pytest.raises(ActivityDataError, match=named) as error:
        save_note(extra)
    assert "write_app.Note.extra_activity_data" in str(error.value)
    assert nothing_written()


def test_a_save_before_migrate_created_the_outbox_table_says_to_run_migrate():
    user = UserFactory()
    with pytest.raises(OutboxNotMigrated) as error, transaction.atomic():
        with connection.cursor() as cursor:  # rolled back with the save's transaction
            cursor.execute("ALTER TABLE feed_outbox_outboxevent RENAME TO hidden_outboxevent")
        save_note({"text": "hi"}, user=user)
    message = str(error.value)
    assert "feed_outbox_outboxevent" in message and "'default'" in message
    assert "run `python manage.py migrate`" in message
    assert nothing_written()


def test_a_core_field_in_extra_data_is_an_error():
    with pytest.raises(ActivityDataError, match=r"\['verb'\].*core"):
        save_note({"verb": "shadowed"})
    assert nothing_written()


@override_settings(FEED_OUTBOX_MAX_ACTIVITY_BYTES=600)
def test_an_activity_over_the_size_limit_is_refused():
    with pytest.raises(ActivityDataError, match=r"write_app\.Note.*FEED_OUTBOX_MAX_ACTIVITY_BYTES"):
        save_note({"body": "x" * 700})
    assert nothing_written()


def test_an_activity_over_one_kilobyte_is_published_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="feed_outbox"):
        save_note({"body": "x" * 1500})
    assert OutboxEvent.objects.count() == 1
    assert "under 1 KB" in caplog.text


def test_a_small_activity_gives_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="feed_outbox"):
        save_note({"body": "short"})
    assert caplog.text == ""


def test_an_empty_actor_is_an_error():
    note = Note(user=None)
    with pytest.raises(ActivityDataError, match=r"write_app\.Note has an empty actor"):
        note.save()
    assert nothing_written()


def test_a_model_without_its_time_field_is_an_error_naming_the_field():
    with pytest.raises(ActivityDataError, match=r"write_app\.Untimed has no field 'created_at'"):
        Untimed.objects.create(user=UserFactory())
    assert not Untimed.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_notify_target_that_is_not_a_feed_id_is_an_error(monkeypatch):
    monkeypatch.setattr(Post, "activity_notify", property(lambda self: ["notification"]))
    with pytest.raises(ActivityDataError, match="'notification' is neither a feed nor a feed id"):
        PostFactory()
    assert not Post.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_an_update_with_bad_data_leaves_the_row_and_outbox_as_they_were():
    note = save_note({"body": "ok"})
    note.extra = {"body": object()}
    with pytest.raises(ActivityDataError):
        note.save()
    assert OutboxEvent.objects.count() == 1


@override_settings(STREAM_USER_FEED="user feed")
def test_an_unknown_feed_group_name_is_a_system_check_error():
    errors = [e for e in checks.run_checks() if e.id == "feed_outbox.E002"]
    assert [e.msg.split(" is ")[0] for e in errors] == ["STREAM_USER_FEED"]


@override_settings(FEED_OUTBOX_NOTIFY_CHANNEL="", FEED_OUTBOX_MAX_ACTIVITY_BYTES="10k")
def test_bad_outbox_settings_are_system_check_errors():
    ids = sorted(
        e.id for e in checks.run_checks() if e.id in ("feed_outbox.E004", "feed_outbox.E005")
    )
    assert ids == ["feed_outbox.E004", "feed_outbox.E005"]


def test_a_model_without_its_time_field_is_flagged_by_the_system_checks():
    flagged = [e.obj for e in checks.run_checks() if e.id == "feed_outbox.W001"]
    assert flagged == [Untimed]
