# Run by the release's Python (the manage wrapper with DJKIT_PYTHON=1) as
#   python -c <this> <script> <django_manage_command...>
# It starts the project the way its own entry point does (manage.py, or an application's
# `-m package`: the paths and settings defaults it sets, the files it loads), but where that
# entry point hands its command to Django, it runs the kit's script instead, after
# django.setup(). Not through the project's `shell`, which an application may replace.
import os
import runpy
import sys

import django.core.management

script, entry = sys.argv[1], sys.argv[2:]
ran = []


def run_script(argv=None):
    import django

    django.setup()
    ran.append(True)
    exec(compile(script, "djkit-script", "exec"), {"__name__": "__djkit__"})  # noqa: S102


django.core.management.execute_from_command_line = run_script
if entry[:1] == ["-m"] and len(entry) >= 2:
    sys.argv = [entry[1], *entry[2:]]
    runpy.run_module(entry[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = list(entry)
    sys.path[0] = os.path.dirname(os.path.abspath(entry[0]))
    runpy.run_path(entry[0], run_name="__main__")
if not ran:
    sys.exit(
        f"{' '.join(entry)} (django_manage_command) did not hand a command to Django's"
        " execute_from_command_line: the kit cannot run its release checks through it."
    )
