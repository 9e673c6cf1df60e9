"""All contexts' tables gathered into one metadata, for Alembic and for tests."""

from trafficgov.accounts import store as _accounts  # noqa: F401
from trafficgov.audit import store as _audit  # noqa: F401
from trafficgov.credit import store as _credit  # noqa: F401
from trafficgov.enforcement import store as _enforcement  # noqa: F401
from trafficgov.hub import golden_store as _golden  # noqa: F401
from trafficgov.hub import quality_store as _quality  # noqa: F401
from trafficgov.hub import sharing_store as _sharing  # noqa: F401
from trafficgov.hub import store as _hub  # noqa: F401
from trafficgov.imports import store as _imports  # noqa: F401
from trafficgov.registry import store as _registry  # noqa: F401
from trafficgov.store.base import Base

metadata = Base.metadata
