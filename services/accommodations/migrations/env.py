from services.accommodations.models import Base
from services.core.migrate import run_migrations

run_migrations(Base.metadata)
