# Run in the release a rollback goes back to, started as the project's own entry point starts
# it (files/djkit_entry.py): the migrations applied in the database that the release's code
# does not know (nor replaces with a squashed one), as one JSON line {"unknown": [[app, name]]}.
# Its code may fail on the schema they made.
import json

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader

loader = MigrationLoader(connections[DEFAULT_DB_ALIAS])
known = set(loader.disk_migrations)
for migration in loader.disk_migrations.values():
    known.update(migration.replaces)
unknown = sorted(set(loader.applied_migrations) - known)
print(json.dumps({"unknown": [list(key) for key in unknown]}))
