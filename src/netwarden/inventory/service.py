"""The inventory's public service functions, one import away for api/, cli/ and web/.

Each area lives in its own module (devices: sites/devices/interfaces; ipam:
prefixes and IP addresses; links: VLANs and links; credentials; porting:
import/export) and lists its public names in ``__all__``.
"""

from netwarden.inventory.credentials import *  # noqa: F403
from netwarden.inventory.devices import *  # noqa: F403
from netwarden.inventory.ipam import *  # noqa: F403
from netwarden.inventory.links import *  # noqa: F403
from netwarden.inventory.porting import *  # noqa: F403
