"""A local Thinkific site that answers like the Admin REST API v1 (``/api/public/v1``): users,
enrollments, the seeded catalog, bundles, groups, external orders, the per-minute rate limit
and its headers, and injectable faults."""

from sandboxes.thinkific.app import create_app
from sandboxes.thinkific.faults import ConnectionDropped, FaultKind, FaultRule, Faults
from sandboxes.thinkific.seed import Catalog, load_seed
from sandboxes.thinkific.settings import API_BASE, SandboxSettings
from sandboxes.thinkific.state import SandboxState

__all__ = [
    "API_BASE",
    "Catalog",
    "ConnectionDropped",
    "FaultKind",
    "FaultRule",
    "Faults",
    "SandboxSettings",
    "SandboxState",
    "create_app",
    "load_seed",
]
