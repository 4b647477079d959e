from services.core.migrate import run_migrations
from services.scheduling.models import Base

run_migrations(Base.metadata)
