"""Adapters to Stream's APIs: how our activities look in Feeds v3 (``v3_mapping``), reading
feeds and follows through stream-python or the getstream SDK (``feed_reads``, ``v3_reads``),
what Stream's error answers mean (``errors``) and its request limits (``rate_limits``). Internal.
"""
