"""feed_outbox/stream_api/exchanges.py: a read written once runs the same through a blocking
``send`` and an awaited one, and a failed request fails the read where it was made."""

import asyncio

import pytest

from feed_outbox.stream_api.exchanges import arun, run


def pages(size: int):
    """A read of every item, page by page, as V3Feed's reads are written."""
    items, cursor = [], None
    while True:
        answer = yield {"limit": size, "next": cursor}
        items += answer["items"]
        cursor = answer.get("next")
        if not cursor:
            return items


class Server:
    def __init__(self, items):
        self.items, self.requests = items, []

    def answer(self, request):
        self.requests.append(request)
        start = int(request["next"] or 0)
        end = start + request["limit"]
        return {"items": self.items[start:end], "next": str(end) if end < len(self.items) else ""}

    async def aanswer(self, request):
        await asyncio.sleep(0)
        return self.answer(request)


def test_sync_and_async_drivers_send_the_same_requests_and_give_the_same_result():
    sync, asynchronous = Server(list(range(7))), Server(list(range(7)))
    assert run(pages(3), sync.answer) == list(range(7))
    assert asyncio.run(arun(pages(3), asynchronous.aanswer)) == list(range(7))
    assert (
        sync.requests
        == asynchronous.requests
        == [
            {"limit": 3, "next": None},
            {"limit": 3, "next": "3"},
            {"limit": 3, "next": "6"},
        ]
    )


def test_a_read_of_no_request_returns_at_once():
    def nothing():
        return "done"
        yield  # a generator that sends nothing

    assert run(nothing(), lambda r: pytest.fail("sent")) == "done"
    assert asyncio.run(arun(nothing(), lambda r: pytest.fail("sent"))) == "done"


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_failed_request_is_raised_inside_the_read_where_it_was_made(driver):
    seen = []

    def read():
        try:
            yield "first"
        except ConnectionError as exc:
            seen.append(str(exc))
            raise

    def fail(request):
        raise ConnectionError(f"no answer to {request}")

    async def afail(request):
        fail(request)

    with pytest.raises(ConnectionError, match="no answer to first"):
        if driver == "sync":
            run(read(), fail)
        else:
            asyncio.run(arun(read(), afail))
    assert seen == ["no answer to first"]
