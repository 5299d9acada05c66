"""The three people every portal view is tried with — a managing partner user, a read-only member
of the same partner, a user of another partner — plus anonymous visitors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from claims.models import Membership, MpnId, Partner
from tests.factories import MpnFactory, PartnerFactory, partner_user


@pytest.fixture
def partner() -> Partner:
    partner = PartnerFactory(name="Contoso")
    MpnFactory(partner=partner, number="1234567", location="Seattle")
    return partner


@pytest.fixture
def other_partner() -> Partner:
    partner = PartnerFactory(name="Fabrikam")
    MpnFactory(partner=partner, number="7654321", location="Ankara")
    return partner


@pytest.fixture
def manager(partner: Partner) -> Any:
    return partner_user(
        partner, Membership.Role.INCENTIVES_ADMIN, email="alice@contoso.example", username="alice"
    )


@pytest.fixture
def member(partner: Partner) -> Any:
    return partner_user(partner, Membership.Role.MEMBER, email="bob@contoso.example", username="bob")


@pytest.fixture
def outsider(other_partner: Partner) -> Any:
    return partner_user(
        other_partner, Membership.Role.GLOBAL_ADMIN, email="carol@fabrikam.example", username="carol"
    )


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def manager_client(manager: Any) -> Client:
    return client_for(manager)


@pytest.fixture
def member_client(member: Any) -> Client:
    return client_for(member)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    return client_for(outsider)


@pytest.fixture
def own_mpn(partner: Partner) -> MpnId:
    return partner.mpn_ids.get()
