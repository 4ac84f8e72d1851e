"""Entry point for gunicorn (``gunicorn wsgi:app``) and ``flask --app wsgi``."""

import sys

from lms import create_app
from lms.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One line that names the setting, not a traceback.
    print(f"Refusing to start: {exc}", file=sys.stderr)
    sys.exit(1)
