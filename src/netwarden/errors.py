"""The exception tree of netwarden.

Every public failure is a subclass of :class:`NetwardenError`. Each class
carries the HTTP status the API answers with and a short problem code used
in RFC 9457 problem+json bodies. Messages say what failed and what to do;
the CLI prints them on one line.

    NetwardenError
    ├── InvalidInput (400)          bad values, malformed files, bad CIDRs
    │   └── ImportError_ (400)      an import file that cannot be applied
    ├── AuthenticationFailed (401)  missing, wrong, expired or revoked token/password
    ├── PermissionDenied (403)      the role may not do this
    ├── NotFound (404)              the named object does not exist
    ├── AlreadyExists (409)         a unique name/address is taken
    ├── Conflict (409)              the change contradicts existing state
    ├── ConfigError (500)           settings file/env cannot be used
    ├── StoreError (503)            the database cannot be reached or migrated
    ├── SecretError (500)           the secret key is missing or cannot decrypt
    └── LabError (500)              the lab cannot be built or changed
        └── NeedsRoot (403)         lab operations need CAP_NET_ADMIN
"""

from __future__ import annotations


class NetwardenError(Exception):
    """Root of every error netwarden raises on purpose."""

    status: int = 500
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(NetwardenError):
    status = 400
    code = "invalid-input"


class ImportFailed(InvalidInput):
    code = "import-failed"


class AuthenticationFailed(NetwardenError):
    status = 401
    code = "authentication-failed"


class PermissionDenied(NetwardenError):
    status = 403
    code = "permission-denied"


class NotFound(NetwardenError):
    status = 404
    code = "not-found"


class AlreadyExists(NetwardenError):
    status = 409
    code = "already-exists"


class Conflict(NetwardenError):
    status = 409
    code = "conflict"


class ConfigError(NetwardenError):
    status = 500
    code = "config-error"


class StoreError(NetwardenError):
    status = 503
    code = "store-error"


class SecretError(NetwardenError):
    status = 500
    code = "secret-error"


class LabError(NetwardenError):
    status = 500
    code = "lab-error"


class NeedsRoot(LabError):
    status = 403
    code = "needs-root"
