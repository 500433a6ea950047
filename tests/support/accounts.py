"""What the tests' accounts share: the password every factory-made account has, and an account on the wire."""

PASSWORD = "correct-horse-battery"
# What an account looks like on the wire (never a password or its hash).
ACCOUNT_FIELDS = frozenset(
    {
        "id",
        "username",
        "display_name",
        "role",
        "scope_grid_id",
        "scope_grid",
        "phone",
        "active",
        "created_at",
        "updated_at",
    }
)
