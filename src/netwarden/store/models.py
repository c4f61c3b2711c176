"""Imports every package's tables so that metadata and Alembic see them all."""

from netwarden.access import models as access_models  # noqa: F401
from netwarden.alerts import models as alerts_models  # noqa: F401
from netwarden.configs import models as configs_models  # noqa: F401
from netwarden.discover import models as discover_models  # noqa: F401
from netwarden.inventory import models as inventory_models  # noqa: F401
from netwarden.monitor import models as monitor_models  # noqa: F401
from netwarden.security import tables as security_tables  # noqa: F401
from netwarden.security.logs import tables as logs_tables  # noqa: F401
from netwarden.security.scan import tables as scan_tables  # noqa: F401
