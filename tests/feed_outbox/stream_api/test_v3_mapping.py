"""v3 activity ids: the ones already written to Stream must never change."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from feed_outbox.stream_api.v3_mapping import ID_NAMESPACE, activity_id

# Any text encodable as UTF-8 (a lone surrogate raises in uuid5 as in activity_id).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)))


def test_an_activity_id_is_the_one_written_before():
    # Computed by uuid.uuid5 at the commit before activity_id stopped calling it.
    assert activity_id("user:42", "sample_app.Tweet:7") == "ca82c2ec-973d-5d0b-a7eb-d25a4725593d"


@given(feed=TEXT, foreign_id=TEXT)
def test_an_activity_id_is_uuid5_of_feed_and_foreign_id(feed, foreign_id):
    assert activity_id(feed, foreign_id) == str(uuid.uuid5(ID_NAMESPACE, f"{feed}\n{foreign_id}"))
