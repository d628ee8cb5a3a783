"""The YAML field-mapping engine: storefront event payloads in, destination records out.

Load a folder once (``load``), apply the result to each message (``Mappings.apply``), hold it
in a ``MappingSet`` to reload without a restart, and compare it with the destination's
describe results (``drift``). The engine does no I/O besides reading the mapping files: the
catalog look-up and describe fetches are the caller's.
"""

from dispatcher.mapping.compiled import DestinationMapping, Mappings
from dispatcher.mapping.errors import MappingConfigError, MappingError, MappingIssue
from dispatcher.mapping.load import check, load, mapping_files
from dispatcher.mapping.model import Owner
from dispatcher.mapping.paths import Lookup
from dispatcher.mapping.records import FieldSets, MappedMessage, MappedRecord, Operation
from dispatcher.mapping.transforms import organisation_key

__all__ = [
    "DestinationMapping",
    "FieldSets",
    "Lookup",
    "MappedMessage",
    "MappedRecord",
    "MappingConfigError",
    "MappingError",
    "MappingIssue",
    "Mappings",
    "Operation",
    "Owner",
    "check",
    "load",
    "mapping_files",
    "organisation_key",
]
