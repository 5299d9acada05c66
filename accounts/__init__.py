"""Accounts: who is signing in, to the partner portal and to the reviewers' admin alike.

What lives here: the sign-in forms (by email, for the portal and the admin), the sign-in and
sign-out pages, the authentication backend and the django-axes hooks that hold one lockout policy
for both pages (`accounts.auth`). `cpor.urls` includes `accounts.urls` by name, so the project
package imports no app.

What stays in `claims`: resetting a password. Its pages are named in the `claims:` URL namespace
(`claims:password_reset`, …), which the templates, the reset mail and bookmarked links use, and a
URL namespace cannot be split across two URL modules; its mail is one of the outbox kinds `claims`
registers loaders for. Moving it would mean renaming those URLs, which this split does not do.

Direction: accounts sits beside reviews, consent and api. It may import `claims` and `cpor`, and
none of them imports accounts; Django finds it through settings strings
(`AUTHENTICATION_BACKENDS`, `AXES_*`, the URL include).
"""
