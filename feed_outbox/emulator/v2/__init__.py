"""The emulated Stream Feeds v2 API (`/api/v1.0/...`, what `stream-python` calls).

``api`` lists the routes and ``routing`` matches, authenticates (``auth``) and parses a request
into the ``Call`` an endpoint receives; ``feed_endpoints``, ``app_endpoints`` and
``extra_endpoints`` handle them over ``store`` (feeds, activities, follows; ``activities``
validates and times activities, ``feed_reads`` pages feeds, ``enrichment`` holds users,
collections and reactions); ``errors`` shapes Stream's v2 error answers, and ``persistence``
keeps the store in the ``--data`` file beside v3's. The server, faults, inspector and the
``--data`` file itself are shared with v3 (``feed_outbox/emulator/``).
"""
