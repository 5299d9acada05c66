"""The earnings admin, one module per subject: programme rules and assessments (finance reads and
edits rules), statements (finance approves and records payments)."""

from earnings.admin import (
    assessments,  # noqa: F401  (registers its model admins)
    statements,  # noqa: F401  (registers its model admins)
)
