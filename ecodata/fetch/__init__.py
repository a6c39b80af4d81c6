"""Fetchers: complete, resumable, concurrent downloads of every endpoint into raw snapshots.

``run_fetch`` is the entry point (``ecodata fetch`` calls it). Internals: ``_client`` (auth,
retries, envelopes), ``_endpoints`` (the endpoint table), ``_paginate`` (pagination strategies
and guards), ``_crawl`` (the one page loop).
"""

from ecodata.fetch._client import Page, RetryPolicy
from ecodata.fetch._crawl import EndpointResult, FetchReport, run_fetch
from ecodata.fetch._endpoints import EndpointSpec, endpoint_spec

__all__ = ["EndpointResult", "EndpointSpec", "FetchReport", "Page", "RetryPolicy", "endpoint_spec",
           "run_fetch"]
