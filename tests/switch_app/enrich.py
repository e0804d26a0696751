"""The project's Enrich subclass with stream-django's hook names."""

from feed_outbox.enrich import Enrich
from tests.switch_app.models import Group, Pin


class PinEnrich(Enrich):
    def fetch_pin_instances(self, pks):
        """Unambiguous: only switch_app has a model named pin."""
        return Pin.objects.select_related("user").in_bulk(pks)

    def fetch_group_instances(self, pks):  # marker: W116
        return Group.objects.in_bulk(pks)

    def fetch_switch_app__group_instances(self, pks):
        return Group.objects.in_bulk(pks)
