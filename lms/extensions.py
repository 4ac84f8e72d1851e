"""Extensions, created unbound and bound to the app in ``create_app``."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect as _CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CSRFProtect(_CSRFProtect):
    """Flask-WTF's CSRF check, where a malformed Referer on an HTTPS post is refused like any
    foreign one. Flask-WTF compares ports with ``urlparse(...).port``, which raises ValueError
    for ``https://localhost:port.evil.example/`` or a port past 65535: an error page."""

    def protect(self, apply_exemptions=False):
        try:
            return super().protect(apply_exemptions=apply_exemptions)
        except ValueError:
            self._error_response("The referrer does not match the host.")


# Objects stay loaded after a commit: a page rendered after its audit row is written does not
# reload every row one query at a time (lms.uow commits once per request).
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING), session_options={"expire_on_commit": False}
)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
talisman = Talisman()


def client_ip() -> str:
    """The client's address (behind ``TRUSTED_PROXIES`` load balancers, from ProxyFix)."""
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip)
