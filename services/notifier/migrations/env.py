from services.notifier.adapters.tables import metadata
from shared.migrations import reliability_metadata, run_env

run_env([metadata, *reliability_metadata()])
