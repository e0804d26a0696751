"""parse_reference accepts exactly ``app_label.Model:pk`` of an allowed model, nothing else."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from feed_outbox.activity import Activity
from feed_outbox.enrich import parse_reference

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FORBIDDEN = [
    "auth.Permission",
    "auth.Group",
    "contenttypes.ContentType",
    "sessions.Session",
    "admin.LogEntry",
    "feed_outbox.OutboxEvent",
    "sample_app.Follow",
]
CANONICAL = re.compile(r"(?P<app>[A-Za-z_]\w*)\.(?P<model>[A-Za-z_]\w*):(?P<pk>[1-9][0-9]*|0)")


def allowed_labels() -> list[str]:
    """Activity models (concrete) and the user model: what feed data may reference."""
    labels = {"auth.User"}
    for model in apps.get_models():
        if issubclass(model, Activity) and not model._meta.proxy:
            labels.add(model._meta.label)
    return sorted(labels)


int_pks = st.integers(min_value=0, max_value=2**31 - 1)


@PROPERTY
@given(label=st.sampled_from(allowed_labels()), pk=int_pks)
def test_a_reference_to_an_allowed_model_parses_to_that_model_and_pk(label, pk):
    model = apps.get_model(label)
    assert parse_reference(f"{label}:{pk}") == (model, pk)


@PROPERTY
@given(label=st.sampled_from(FORBIDDEN), pk=st.one_of(int_pks, st.text(min_size=1, max_size=20)))
def test_a_reference_to_any_other_model_is_not_a_reference(label, pk):
    assert parse_reference(f"{label}:{pk}") is None


@PROPERTY
@given(
    label=st.sampled_from(allowed_labels()),
    pk=int_pks,
    junk=st.sampled_from([" ", "\n", "\t", ":", "/", ".", "..", "\x00", "'", "%"]),
    where=st.integers(min_value=0),
)
def test_a_reference_with_anything_inserted_is_not_a_reference(label, pk, junk, where):
    reference = f"{label}:{pk}"
    at = where % (len(reference) + 1)
    mutated = reference[:at] + junk + reference[at:]
    parsed = parse_reference(mutated)
    # Inserting "." or ":" can only ever produce another strict reference, never a loose one.
    assert parsed is None or CANONICAL.fullmatch(mutated), repr(mutated)


@PROPERTY
@given(value=st.one_of(st.text(max_size=60), st.integers(), st.none(), st.floats(), st.binary()))
@example("sample_app.Tweet:1\n")
@example("sample_app.Tweet:١")
@example("sample_app.Tweet:01")
@example("sample_app.Tweet:+1")
@example("sample_app.Tweet:1_000")
@example(" sample_app.Tweet:1")
def test_whatever_is_accepted_is_the_canonical_reference_of_what_it_returns(value):
    parsed = parse_reference(value)
    if parsed is None:
        return
    model, pk = parsed
    assert isinstance(value, str)
    app, _, rest = value.partition(".")
    name, _, raw_pk = rest.partition(":")
    assert model._meta.label in allowed_labels()
    assert app == model._meta.app_label
    assert name.lower() == model._meta.object_name.lower()  # Django model names ignore case
    assert raw_pk == str(pk), f"{value!r} was read as pk {pk!r}"


@PROPERTY
@given(text=st.text(min_size=1, max_size=40))
def test_free_text_with_a_colon_is_text(text):
    assume(not CANONICAL.fullmatch(text))
    assert parse_reference(text) is None
    assert parse_reference(f"{text}:{text}") is None or CANONICAL.fullmatch(f"{text}:{text}")
