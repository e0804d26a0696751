"""``demo_stream``: the state of the demo's Stream switch ("running", "stopped"; None outside
``make demo``), shown to staff in the navigation."""

from sample_app import stream_switch


def demo_stream(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_staff:
        return {"demo_stream": None}
    return {"demo_stream": stream_switch.state()}
