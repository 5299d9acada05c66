"""Sessions signed in before sign-in moved from claims to accounts keep their people signed in.

Django writes the path of the backend that signed a person in into their session
(`_auth_user_backend`) and treats a session naming a backend no longer in AUTHENTICATION_BACKENDS as
signed out. The email backend moved from `claims.auth` to `accounts.auth`, so without this every
partner and reviewer signed in at deploy time would be signed out once. Sessions that cannot be
read, or that name another backend, are left as they are.
"""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import migrations

OLD = "claims.auth.EmailBackend"
NEW = "accounts.auth.EmailBackend"


def _rename(apps, old: str, new: str) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    session_model = apps.get_model("sessions", "Session")
    store = SessionStore()
    for session in session_model.objects.only("session_key", "session_data").iterator():
        data = store.decode(session.session_data)
        if data.get(BACKEND_SESSION_KEY) == old:
            data[BACKEND_SESSION_KEY] = new
            session_model.objects.filter(pk=session.pk).update(session_data=store.encode(data))


def forwards(apps, schema_editor) -> None:
    _rename(apps, OLD, NEW)


def backwards(apps, schema_editor) -> None:
    _rename(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [("sessions", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
