import gzip
import json
from pathlib import Path

from django.core.management import call_command


def test_collectstatic_writes_hashed_names_and_compressed_siblings(
    settings, tmp_path: Path
) -> None:
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    hashed_css = manifest["paths"]["myapp/css/site.css"]
    assert hashed_css != "myapp/css/site.css"
    assert hashed_css.startswith("myapp/css/site.")

    for name in ("myapp/css/site.css", "myapp/js/notes.js", "myapp/img/logo.svg"):
        hashed = tmp_path / manifest["paths"][name]
        original = hashed.read_bytes()
        assert gzip.decompress((tmp_path / f"{hashed}.gz").read_bytes()) == original


def test_templates_link_the_hashed_names(client, settings, tmp_path: Path, db) -> None:
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    page = client.get("/").content.decode()
    assert f"/static/{manifest['paths']['myapp/css/site.css']}" in page
