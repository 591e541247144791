from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Brand
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create a brand-scoped API key and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("brand_slug")
        parser.add_argument("name")

    def handle(self, *args: object, brand_slug: str, name: str, **options: object) -> None:
        brand = Brand.objects.filter(slug=brand_slug).first()
        if brand is None:
            raise CommandError(f"no brand with slug {brand_slug!r}")
        _key, raw = api_key_create(brand=brand, name=name)
        self.stdout.write(raw)
