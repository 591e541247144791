"""A demo brand to click through: a hotel group with five accounts and a user per role.

Idempotent: running it again updates the same rows instead of adding more.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Brand, Membership, OfficialAccount, PlatformApp, Role, Team, User

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 (a printed demo credential, by design)

ACCOUNTS = [
    # appid, name, original id, kind, verified, flagship, languages, address, phone
    ("wx1a2b3c4d5e6f7001", "Lumen Hotels", "gh_lumen000001", "service", True, True,
     ["zh-hans", "en"], "1 Lumen Plaza, Shanghai", "400-820-0001"),
    ("wx1a2b3c4d5e6f7002", "Lumen Shanghai Bund", "gh_lumenbund02", "service", True, False,
     ["zh-hans", "en"], "88 Zhongshan East 1st Rd, Shanghai", "021-6321-0002"),
    ("wx1a2b3c4d5e6f7003", "Lumen Beijing Sanlitun", "gh_lumenslt003", "service", True, False,
     ["zh-hans", "en"], "19 Sanlitun Rd, Beijing", "010-6417-0003"),
    ("wx1a2b3c4d5e6f7004", "Lumen Hangzhou West Lake", "gh_lumenwl0004", "service", False, False,
     ["zh-hans"], "7 Beishan St, Hangzhou", "0571-8799-0004"),
    ("wx1a2b3c4d5e6f7005", "Lumen Stories", "gh_lumenstory5", "subscription", False, False,
     ["zh-hans", "en"], "", ""),
]

# The portal's third-party platform, registered in the sandbox by run_demo.
PLATFORM = {
    "component_appid": "wx9e8d7c6b5a4f3001",
    "component_appsecret": "demo-component-secret-3001",
    "token": "demoplatformtoken3001",
    "encoding_aes_key": ("demoplatformkey3001" * 3)[:43],
}

USERS = [
    # email, name, role, served appids (empty = all), languages, display name
    ("owner@lumen.demo", "Olivia Owner", Role.OWNER, [], ["en", "zh-hans"], "Olivia"),
    ("admin@lumen.demo", "Adam Admin", Role.ADMIN, [], ["en", "zh-hans", "zh-hant"], "Adam"),
    ("manager@lumen.demo", "Mei Manager", Role.MANAGER,
     ["wx1a2b3c4d5e6f7002", "wx1a2b3c4d5e6f7003"], ["zh-hans", "en"], "Mei"),
    ("agent@lumen.demo", "Lily Agent", Role.AGENT, ["wx1a2b3c4d5e6f7002"], ["zh-hans", "en"],
     "Lily"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo hotel brand with accounts, teams and one user per role."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        brand, _ = Brand.objects.update_or_create(
            slug="lumen", defaults={"name": "Lumen Hotels Group"}
        )
        accounts: dict[str, OfficialAccount] = {}
        for appid, name, gh, kind, verified, flagship, langs, address, phone in ACCOUNTS:
            account = OfficialAccount.objects.filter(appid=appid).first() or OfficialAccount(
                appid=appid, brand=brand
            )
            account.brand = brand
            account.name, account.original_id, account.kind = name, gh, kind
            account.verified, account.is_flagship, account.languages = verified, flagship, langs
            account.address, account.phone = address, phone
            # Demo credentials that the local sandbox knows too.
            account.app_secret = account.app_secret or f"demo-secret-{appid[-4:]}"
            account.token = account.token or f"demotoken{appid[-4:]}"
            account.encoding_aes_key = account.encoding_aes_key or (f"demo{appid[-4:]}" * 6)[:43]
            account.save()
            accounts[appid] = account

        teams = {
            "Bund front desk": (["wx1a2b3c4d5e6f7002"], ["zh-hans", "en"], False),
            "Sanlitun concierge": (["wx1a2b3c4d5e6f7003"], ["zh-hans", "en"], False),
            "Central care": ([], ["en", "zh-hans", "zh-hant"], True),
        }
        for team_name, (appids, langs, central) in teams.items():
            team, _ = Team.objects.update_or_create(
                brand=brand, name=team_name, defaults={"languages": langs, "is_central": central}
            )
            team.accounts.set([accounts[a] for a in appids])

        self.stdout.write(self.style.SUCCESS(f"Demo brand: {brand.name} (slug {brand.slug})"))
        for email, name, role, appids, langs, display in USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, name=name)
            membership, _ = Membership.objects.update_or_create(
                user=user,
                brand=brand,
                defaults={"role": role, "languages": langs, "display_name": display},
            )
            membership.accounts.set([accounts[a] for a in appids])
            self.stdout.write(f"  {role:<8} {email:<22} password: {DEMO_PASSWORD}")
        # The demo spans the apps; the import stays here so accounts' code does not.
        from messaging.demo import seed_prepared_responses

        prepared = seed_prepared_responses(brand)
        self.stdout.write(f"Prepared responses: {prepared}")
        from routing.demo import seed_routing

        self.stdout.write(f"Routing rules: {seed_routing(brand)}")
        from followers.demo import seed_crm

        self.stdout.write(f"CRM: {seed_crm(brand)}")
        platform, created = PlatformApp.objects.get_or_create(
            component_appid=PLATFORM["component_appid"],
            defaults={k: v for k, v in PLATFORM.items() if k != "component_appid"},
        )
        if created:
            self.stdout.write(f"Third-party platform: {platform.component_appid}")
        operator = User.objects.filter(email="operator@lumen.demo").first()
        if operator is None:
            User.objects.create_superuser("operator@lumen.demo", DEMO_PASSWORD, name="Ops")
        self.stdout.write(f"  {'operator':<8} {'operator@lumen.demo':<22} password: {DEMO_PASSWORD}"
                          "  (Django admin at /admin/)")
