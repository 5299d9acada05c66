"""The product catalogue: Dynamics 365 and Power Platform (Business Applications), Microsoft 365 workloads."""

from django.db import migrations

BUSINESS_APPLICATIONS = [
    ("dynamics_365", "d365-sales", "Dynamics 365 Sales"),
    ("dynamics_365", "d365-customer-service", "Dynamics 365 Customer Service"),
    ("dynamics_365", "d365-field-service", "Dynamics 365 Field Service"),
    ("dynamics_365", "d365-contact-center", "Dynamics 365 Contact Center"),
    ("dynamics_365", "d365-customer-insights", "Dynamics 365 Customer Insights"),
    ("dynamics_365", "d365-finance", "Dynamics 365 Finance"),
    ("dynamics_365", "d365-supply-chain-management", "Dynamics 365 Supply Chain Management"),
    ("dynamics_365", "d365-commerce", "Dynamics 365 Commerce"),
    ("dynamics_365", "d365-human-resources", "Dynamics 365 Human Resources"),
    ("dynamics_365", "d365-project-operations", "Dynamics 365 Project Operations"),
    ("dynamics_365", "d365-business-central", "Dynamics 365 Business Central"),
    ("dynamics_365", "d365-intelligent-order-management", "Dynamics 365 Intelligent Order Management"),
    ("dynamics_365", "d365-guides", "Dynamics 365 Guides"),
    ("dynamics_365", "d365-remote-assist", "Dynamics 365 Remote Assist"),
    ("power_platform", "power-apps", "Power Apps"),
    ("power_platform", "power-automate", "Power Automate"),
    ("power_platform", "power-pages", "Power Pages"),
    ("power_platform", "power-bi", "Power BI"),
    ("power_platform", "copilot-studio", "Microsoft Copilot Studio"),
    ("power_platform", "dataverse", "Microsoft Dataverse"),
]

MICROSOFT_365 = [
    ("exchange-online", "Exchange Online"),
    ("sharepoint-online", "SharePoint Online"),
    ("onedrive", "OneDrive for Business"),
    ("teams", "Microsoft Teams"),
    ("teams-phone", "Microsoft Teams Phone"),
    ("teams-rooms", "Microsoft Teams Rooms"),
    ("microsoft-365-apps", "Microsoft 365 Apps"),
    ("microsoft-365-copilot", "Microsoft 365 Copilot"),
    ("viva", "Microsoft Viva"),
    ("viva-engage", "Viva Engage"),
    ("intune", "Microsoft Intune"),
    ("entra-id-p1", "Microsoft Entra ID P1"),
    ("entra-id-p2", "Microsoft Entra ID P2"),
    ("defender-for-endpoint", "Microsoft Defender for Endpoint"),
    ("defender-for-office-365", "Microsoft Defender for Office 365"),
    ("defender-for-identity", "Microsoft Defender for Identity"),
    ("defender-for-cloud-apps", "Microsoft Defender for Cloud Apps"),
    ("purview-information-protection", "Microsoft Purview Information Protection"),
    ("purview-data-lifecycle", "Microsoft Purview Data Lifecycle Management"),
    ("windows-365", "Windows 365"),
    ("windows-enterprise", "Windows Enterprise E3/E5"),
]


def load(apps, schema_editor):
    Product = apps.get_model("claims", "Product")
    for family, code, name in BUSINESS_APPLICATIONS:
        Product.objects.update_or_create(
            code=code, defaults={"name": name, "solution_area": "business_applications", "family": family}
        )
    for code, name in MICROSOFT_365:
        Product.objects.update_or_create(
            code=f"m365-{code}",
            defaults={"name": name, "solution_area": "microsoft_365", "family": "microsoft_365"},
        )


def unload(apps, schema_editor):
    codes = [code for _f, code, _n in BUSINESS_APPLICATIONS] + [f"m365-{code}" for code, _n in MICROSOFT_365]
    apps.get_model("claims", "Product").objects.filter(code__in=codes, claims__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("claims", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
