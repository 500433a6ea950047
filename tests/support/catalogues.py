"""The message catalogues, compiled before the app starts, so that a plain `pytest` after a fresh checkout reads
Chinese as `make test` does (`make` compiles them too, `pybabel compile`)."""

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from kernel.i18n import TRANSLATIONS_DIR


def compile_stale_catalogues(root: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each `messages.po` whose `.mo` is missing or older; returns the ones compiled."""
    compiled = []
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        # Written aside and renamed: test workers starting together never read half a file.
        handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        os.replace(temporary, mo)
        compiled.append(mo)
    return compiled


class EnglishClient(FlaskClient):
    """The suite's client reads messages in English (`Accept-Language: en`), as most tests assert them; a test sends
    its own Accept-Language to read another language (tests/kernel/test_i18n.py)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
