"""A local Salesforce org that answers like the REST API: auth, sObjects, Collections, composite,
SOQL, limits, describe from the declared schema, a seeded catalog, and injectable faults."""

from dispatcher.sandboxes.salesforce.app import create_app
from dispatcher.sandboxes.salesforce.faults import FaultKind, FaultRule, Faults
from dispatcher.sandboxes.salesforce.seed import SeedCatalog, SeedProduct, load_seed
from dispatcher.sandboxes.salesforce.settings import SandboxSettings
from dispatcher.sandboxes.salesforce.state import SandboxState

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
