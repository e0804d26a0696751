"""The relay's stream-python clients, made cheaper per request without changing a byte sent.

stream-python (stream/client/client.py ``_make_request``) sends every request through
``requests.Session.post`` and signs it with JWTs it encodes anew each time. For a relay
sending one add a request (an idle outbox, or each activity to its own feed) that client-side
work is most of the request's CPU, and on an idle machine most of commit-to-feed
(bench_latency). Two changes, each sending exactly the bytes stream-python would
(tests/relay/delivery/test_v2_session.py compares them on the wire):

* ``memoize_tokens``: stream-python's ``create_jwt_token`` puts no time in a token (no ``iat``
  or ``exp``: the payload is the resource, action and feed or user id, stream/client/base.py),
  so a token for the same arguments is the same string every time: it is encoded once.
* ``LeanSession``: ``requests.Session.request`` merges the session's cookies, params, auth,
  hooks, proxies and environment into each request (``prepare_request`` and
  ``merge_environment_settings``, a quarter of the request's CPU in requests 2.34, most of it
  runtime ``Protocol`` checks). A relay's session has none of them but its headers, its
  response hook and the proxies read once (relay.delivery.v2 ``_resolve_environment_once``),
  so the merge gives the request's own values back. ``LeanSession`` prepares the request
  with requests' own ``PreparedRequest.prepare`` from those values and sends it with
  ``Session.send`` (adapters, hooks, redirects and cookie handling unchanged). A request or a
  session with anything more (a cookie Stream set, auth, files, per-request proxies or
  settings, ``trust_env``) takes ``Session.request``'s whole path, as does every request
  while a test has patched ``requests.Session.request``.
"""

from __future__ import annotations

import functools
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict

# Distinct tokens a relay thread keeps: a few per feed it writes to (its feed-wide token, its
# write token, its `to` targets'). Beyond that the least recently used are encoded again.
TOKENS_KEPT = 4096


def memoize_tokens(client: Any) -> None:
    """Encode each distinct JWT of ``client`` once (see the module's docstring)."""
    encode = getattr(client, "create_jwt_token", None)
    if encode is None or getattr(encode, "memoized", False):
        return

    @functools.lru_cache(maxsize=TOKENS_KEPT)
    def cached(resource: str, action: str, feed_id: Any, user_id: Any, params: tuple) -> Any:
        return encode(resource, action, feed_id=feed_id, user_id=user_id, **dict(params))

    def create_jwt_token(
        resource: str, action: str, feed_id: Any = None, user_id: Any = None, **params: Any
    ) -> Any:
        try:
            # The params in their given order: the payload's key order, so the same bytes.
            return cached(resource, action, feed_id, user_id, tuple(params.items()))
        except TypeError:  # an unhashable argument: encoded every time, as before
            return encode(resource, action, feed_id=feed_id, user_id=user_id, **params)

    create_jwt_token.memoized = True  # type: ignore[attr-defined]
    client.create_jwt_token = create_jwt_token


class LeanSession(requests.Session):
    """A ``requests.Session`` whose ``request()`` skips merging session state it does not
    have (see the module's docstring)."""

    def request(  # type: ignore[override]  # requests' own signature, positionally too
        self,
        method: str,
        url: Any,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
        json: Any = None,
    ) -> requests.Response:
        if (
            requests.Session.request is not _SESSION_REQUEST  # patched, as a test's mock does
            or self.trust_env
            or self.auth is not None
            or self.params
            or len(self.cookies)
            or not isinstance(url, str)
            or not isinstance(params, dict | None)
            or not isinstance(headers, dict | None)
            or any(x is not None for x in (cookies, files, auth, proxies, hooks, stream))
            or any(x is not None for x in (verify, cert, json))
        ):
            return super().request(
                method, url, params, data, headers, cookies, files, auth, timeout,
                allow_redirects, proxies, hooks, stream, verify, cert, json,
            )  # fmt: skip
        # What Session.prepare_request's merge_setting gives for these values: the session's
        # headers updated with the request's, and the request's params, each without None.
        merged = CaseInsensitiveDict(self.headers)
        if headers:
            merged.update(headers)
        for key in [key for key, value in merged.items() if value is None]:
            del merged[key]
        prep = PreparedRequest()
        prep.prepare(
            method=method.upper(),
            url=url,
            data=data or {},
            headers=merged,
            params={k: v for k, v in (params or {}).items() if v is not None},
            cookies=RequestsCookieJar(),
            hooks=self.hooks,
        )
        # And what merge_environment_settings gives with trust_env off.
        return self.send(
            prep,
            timeout=timeout,
            allow_redirects=allow_redirects,
            proxies={k: v for k, v in self.proxies.items() if v is not None},
            stream=self.stream,
            verify=self.verify,
            cert=self.cert,
        )


# requests' own, as imported: a project whose tests patch Session.request to intercept
# Stream's calls (unittest.mock, or a library doing so) gets them through its patch.
_SESSION_REQUEST = requests.Session.request


def make_lean(client: Any) -> None:
    """Give ``client`` a ``LeanSession`` (the same session object, adapters and all) and
    memoized tokens; a client of another shape is left as it is."""
    session = getattr(client, "session", None)
    if type(session) is requests.Session:
        session.__class__ = LeanSession
    memoize_tokens(client)
