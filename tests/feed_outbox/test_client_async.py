"""The async clients (feed_outbox/client.py): one per event loop and settings, closed with the
loop; stream-python's AsyncStreamClient on v2 and the getstream SDK's AsyncStream on v3."""

import asyncio

import pytest
from django.test import override_settings
from getstream import AsyncStream
from stream.client import AsyncStreamClient

from feed_outbox import client as clients
from feed_outbox.client import get_async_client, get_async_v3_client

pytestmark = pytest.mark.usefixtures("stream_emulator")


async def both():
    return await get_async_client(), await get_async_v3_client()


def test_one_loop_reuses_its_clients_and_another_loop_gets_its_own():
    async def twice():
        return await both(), await both()

    (v2, v3), again = asyncio.run(twice())
    assert isinstance(v2, AsyncStreamClient) and isinstance(v3, AsyncStream)
    assert again == (v2, v3)
    other_v2, other_v3 = asyncio.run(both())
    assert other_v2 is not v2 and other_v3 is not v3


def test_new_settings_get_new_clients_on_the_same_loop():
    async def before_and_after():
        first = await both()
        with override_settings(STREAM_API_KEY="another-key"):
            second = await both()
        return first, second

    (v2, v3), (v2_after, v3_after) = asyncio.run(before_and_after())
    assert v2_after is not v2 and v2_after.api_key == "another-key"
    assert v3_after is not v3 and v3_after.api_key == "another-key"


def test_the_loops_v3_pool_is_closed_when_the_loop_shuts_down_and_its_entry_dropped():
    async def read():
        v3 = await get_async_v3_client()
        await v3.post("/api/v2/feeds/follows/query", json={"limit": 1})  # a pooled connection
        assert not v3.client.is_closed
        return v3, asyncio.get_running_loop()

    v3, loop = asyncio.run(read())
    assert v3.client.is_closed  # asyncio.run shut the loop's async generators down: aclose()
    asyncio.run(both())  # the next loop to register drops closed loops' entries
    assert loop not in clients._loops
