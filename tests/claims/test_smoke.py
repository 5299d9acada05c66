import pytest

from claims.models import Claim, ClaimEvent
from tests.factories import claim_in


@pytest.mark.django_db
@pytest.mark.parametrize("status", list(Claim.Status.values))
def test_every_state_is_reachable_through_the_workflow(status: str) -> None:
    if status == Claim.Status.ASSOCIATED:
        pytest.skip("needs the clock: covered in test_transitions")
    claim = claim_in(status)
    claim.refresh_from_db()
    assert claim.status == status
    transitions = ClaimEvent.objects.filter(claim=claim).exclude(
        action__in=["create", "upload", "notification"]
    )
    assert transitions.count() == len([e for e in transitions])
