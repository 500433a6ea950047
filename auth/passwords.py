"""Password hashing (argon2id) and the password policy."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.errors import ValidationError
from kernel.i18n import _

# OWASP's floor for argon2id: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 10
MAX_LENGTH = 256
# Verified when the username is unknown, so that costs what a wrong password costs.
_UNKNOWN_USER_HASH = HASHER.hash("grid-unknown-user-placeholder")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Do the work of a verification for a login whose username does not exist."""
    verify_password(_UNKNOWN_USER_HASH, password)


def check_policy(password: str, *, username: str, field: str = "password") -> None:
    """At least 10 characters, not only digits, not the username: 422 naming each failure."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("at least %(count)s characters", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("at most %(count)s characters", count=MAX_LENGTH))
    if password.isdigit():
        problems.append(_("not only digits"))
    if password.casefold() == username.casefold():
        problems.append(_("must not be the username"))
    if problems:
        raise ValidationError(_("The password does not meet the policy."), {field: problems})
