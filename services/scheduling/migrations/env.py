from services.core.migrate import run_migrations
import services.scheduling.cohort.store  # noqa: F401  (its table belongs to this metadata)
from services.scheduling.models import Base

run_migrations(Base.metadata)
