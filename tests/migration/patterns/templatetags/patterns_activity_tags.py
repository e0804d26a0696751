"""An app's own tag library re-exporting the activity tags under another name.

zakanda did this (gutils/templatetags/stream_django_tags.py) because django-activity-stream
also ships an ``activity_tags`` library; after the switch only the import names feed_outbox.
"""

from feed_outbox.templatetags.activity_tags import *  # noqa: F403
