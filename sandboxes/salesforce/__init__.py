"""A local Salesforce org that answers like the REST API: auth, sObjects, Collections, composite,
SOQL, limits, describe from the declared schema, a seeded catalog, and injectable faults."""

from sandboxes.salesforce.app import create_app
from sandboxes.salesforce.faults import FaultKind, FaultRule, Faults
from sandboxes.salesforce.seed import SeedCatalog, SeedProduct, load_seed
from sandboxes.salesforce.settings import SandboxSettings
from sandboxes.salesforce.state import SandboxState

__all__ = [
    "FaultKind",
    "FaultRule",
    "Faults",
    "SandboxSettings",
    "SandboxState",
    "SeedCatalog",
    "SeedProduct",
    "create_app",
    "load_seed",
]
