"""django-import-export resources for the CRM's CSV import and export of customers and
followers (followers.csv_import runs them).

A row finds its customer by openid and the account's appid (the follower's customer), or
by unionid; a follower row finds its follower by appid and openid. A row that names no
such thing, an account outside the requester's reach, a value its field refuses or an
openid and unionid naming two different people is rejected with the reason (a
ValidationError, which import-export reports as an invalid row). A blank cell leaves the
value as it is: an import never erases what a person wrote.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources

from accounts import events
from accounts.errors import InvalidInput
from accounts.models import Membership, OfficialAccount
from accounts.scope import Scope
from followers.attributes import attribute_value_clean
from followers.customers import profile_clean
from followers.events import customer_updated
from followers.models import Customer, CustomerActivity, CustomerAttribute, Follower
from followers.names import person_display_name
from followers.services import follower_link_customer

ATTRIBUTE_PREFIX = "attribute:"


def _cell(row: dict, name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


class _ScopedResource(resources.ModelResource):
    """Shared: the requester's scope, the accounts it reaches by appid, and what each row
    changed ({row number: [field, ...]}) for the dry run's report."""

    def __init__(self, *, scope: Scope, by: Membership | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.by = by
        self.accounts = {a.appid: a for a in scope.accounts() if a.appid}
        self.changes: dict[int, list[str]] = {}
        self._row_changes: list[str] = []

    def account_for(self, appid: str) -> OfficialAccount:
        account = self.accounts.get(appid)
        if account is None:
            raise ValidationError(_("No account of yours has the appid %(appid)s.")
                                  % {"appid": appid or "-"})
        return account

    def columns(self) -> set[str]:
        return set(self.get_export_headers())

    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        self._row_changes = []

    def after_import_row(self, row: Any, row_result: Any, **kwargs: Any) -> None:
        self.changes[kwargs.get("row_number") or 0] = list(self._row_changes)


class CustomerResource(_ScopedResource):
    id = fields.Field(attribute="id", column_name="id", readonly=True)
    display_name = fields.Field(column_name="display_name", readonly=True)
    appid = fields.Field(column_name="appid", readonly=True)
    openid = fields.Field(column_name="openid", readonly=True)
    unionid = fields.Field(attribute="unionid", column_name="unionid", readonly=True)
    name = fields.Field(attribute="name", column_name="name", readonly=True)
    phone = fields.Field(attribute="phone", column_name="phone", readonly=True)
    email = fields.Field(attribute="email", column_name="email", readonly=True)
    notes = fields.Field(attribute="notes", column_name="notes", readonly=True)
    language = fields.Field(attribute="language", column_name="language", readonly=True)

    class Meta:
        model = Customer
        fields = ("id", "display_name", "appid", "openid", "unionid", "name", "phone", "email",
                  "notes", "language")
        export_order = fields
        skip_unchanged = True
        report_skipped = True

    PROFILE = ("name", "phone", "email", "notes")

    def __init__(self, *, scope: Scope, by: Membership | None = None) -> None:
        super().__init__(scope=scope, by=by)
        self.attributes = {a.key: a for a in CustomerAttribute.objects.filter(
            brand_id=scope.brand_id).order_by("position", "pk")}
        for key in self.attributes:
            column = f"{ATTRIBUTE_PREFIX}{key}"
            self.fields[column] = fields.Field(
                column_name=column, readonly=True,
                dehydrate_method=lambda c, key=key: (c.attributes or {}).get(key, ""))

    # -- export ------------------------------------------------------------------------
    def _first_follower(self, customer: Customer) -> Follower | None:
        rows = [f for f in customer.followers.all()
                if self.scope.account_ids is None or f.account_id in self.scope.account_ids]
        return rows[0] if rows else None

    def dehydrate_display_name(self, customer: Customer) -> str:
        return person_display_name(customer=customer, follower=self._first_follower(customer))

    def dehydrate_appid(self, customer: Customer) -> str:
        follower = self._first_follower(customer)
        return follower.account.appid if follower else ""

    def dehydrate_openid(self, customer: Customer) -> str:
        follower = self._first_follower(customer)
        return follower.openid if follower else ""

    # -- import ------------------------------------------------------------------------
    def get_or_init_instance(self, instance_loader: Any, row: Any) -> tuple[Customer, bool]:
        openid, appid, unionid = _cell(row, "openid"), _cell(row, "appid"), _cell(row, "unionid")
        if openid:
            account = self.account_for(appid)
            follower = Follower.objects.filter(account=account, openid=openid).select_related(
                "customer").first()
            if follower is None or follower.customer is None:
                raise ValidationError(_("No follower %(openid)s on %(account)s.")
                                      % {"openid": openid, "account": account.name})
            customer = follower.customer
            if unionid and customer.unionid and customer.unionid != unionid:
                raise ValidationError(_("The openid and the unionid name different customers."))
            if unionid and not customer.unionid and Customer.objects.filter(
                    brand_id=self.scope.brand_id, unionid=unionid).exists():
                raise ValidationError(_("The openid and the unionid name different customers."))
            return customer, False
        if unionid:
            customer = Customer.objects.filter(brand_id=self.scope.brand_id,
                                               unionid=unionid).first()
            while customer is not None and customer.merged_into_id is not None:
                customer = customer.merged_into
            if customer is not None:
                if self.scope.account_ids is not None and not customer.followers.filter(
                        account_id__in=self.scope.account_ids).exists():
                    raise ValidationError(_("No customer of yours has the unionid %(u)s.")
                                          % {"u": unionid})
                return customer, False
            if self.scope.account_ids is not None:
                raise ValidationError(_("No customer of yours has the unionid %(u)s.")
                                      % {"u": unionid})
            return Customer(brand_id=self.scope.brand_id, unionid=unionid), True
        raise ValidationError(_("Give the openid with the account's appid, or the unionid."))

    def import_instance(self, instance: Customer, row: Any, **kwargs: Any) -> None:
        given = {name: row[name] for name in self.PROFILE
                 if row.get(name) not in (None, "")}
        errors: dict[str, list[str]] = {}
        try:
            profile = profile_clean(given)
        except InvalidInput as exc:
            profile = {}
            errors.update(exc.fields or {"__all__": [exc.message]})
        for name, value in profile.items():
            if getattr(instance, name) != value:
                setattr(instance, name, value)
                self._row_changes.append(name)
        language = _cell(row, "language")[:16]
        if language and instance.language != language:
            instance.language = language
            self._row_changes.append("language")
        values = dict(instance.attributes or {})
        for key, attribute in self.attributes.items():
            raw = _cell(row, f"{ATTRIBUTE_PREFIX}{key}")
            if not raw:
                continue
            try:
                value = attribute_value_clean(attribute, raw)
            except InvalidInput as exc:
                errors.update({f"{ATTRIBUTE_PREFIX}{key}": [exc.message]})
                continue
            if values.get(key) != value:
                values[key] = value
                self._row_changes.append(f"attributes.{key}")
        if errors:
            raise ValidationError(errors)
        instance.attributes = values

    def skip_row(self, instance: Customer, original: Any, row: Any,
                 import_validation_errors: Any = None) -> bool:
        return not import_validation_errors and instance.pk is not None \
            and not self._row_changes

    def validate_instance(self, instance: Any, import_validation_errors: Any = None,
                          validate_unique: bool = True) -> None:
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def after_save_instance(self, instance: Customer, row: Any, **kwargs: Any) -> None:
        if not self._row_changes:
            return
        CustomerActivity.objects.create(
            brand_id=instance.brand_id, customer=instance, kind=CustomerActivity.Kind.UPDATED,
            data={"fields": list(self._row_changes), "source": "import"}, by=self.by,
            at=timezone.now())
        events.announce("customer.updated", customer_updated(
            brand_id=instance.brand_id, customer_id=instance.pk, fields=self._row_changes,
            by_membership_id=self.by.pk if self.by else None))


class FollowerResource(_ScopedResource):
    id = fields.Field(attribute="id", column_name="id", readonly=True)
    appid = fields.Field(attribute="account__appid", column_name="appid", readonly=True)
    account = fields.Field(attribute="account__name", column_name="account", readonly=True)
    openid = fields.Field(attribute="openid", column_name="openid", readonly=True)
    unionid = fields.Field(attribute="unionid", column_name="unionid", readonly=True)
    customer = fields.Field(attribute="customer_id", column_name="customer", readonly=True)
    display_name = fields.Field(column_name="display_name", readonly=True)
    remark = fields.Field(attribute="remark", column_name="remark", readonly=True)
    language = fields.Field(attribute="language", column_name="language", readonly=True)
    subscribed = fields.Field(attribute="subscribed", column_name="subscribed", readonly=True)
    subscribed_at = fields.Field(attribute="subscribed_at", column_name="subscribed_at",
                                 readonly=True)
    campaign = fields.Field(column_name="campaign", readonly=True)
    tags = fields.Field(column_name="tags", readonly=True)

    class Meta:
        model = Follower
        fields = ("id", "appid", "account", "openid", "unionid", "customer", "display_name",
                  "remark", "language", "subscribed", "subscribed_at", "campaign", "tags")
        export_order = fields
        skip_unchanged = True
        report_skipped = True

    REMARK_MAX = Follower._meta.get_field("remark").max_length

    def dehydrate_display_name(self, follower: Follower) -> str:
        return person_display_name(customer=follower.customer, follower=follower)

    def dehydrate_campaign(self, follower: Follower) -> str:
        return follower.qrcode.campaign.name if follower.qrcode_id else ""

    def dehydrate_tags(self, follower: Follower) -> str:
        return ";".join(sorted(t.name for t in follower.tags.all()))

    def get_or_init_instance(self, instance_loader: Any, row: Any) -> tuple[Follower, bool]:
        openid, appid = _cell(row, "openid"), _cell(row, "appid")
        if not openid:
            raise ValidationError(_("Give the follower's openid and the account's appid."))
        account = self.account_for(appid)
        if len(openid) > 64:
            raise ValidationError(_("An openid is at most 64 characters."))
        follower = Follower.objects.filter(account=account, openid=openid).first()
        if follower is not None:
            return follower, False
        return Follower(brand_id=account.brand_id, account=account, openid=openid,
                        subscribed=True, subscribed_at=timezone.now()), True

    def import_instance(self, instance: Follower, row: Any, **kwargs: Any) -> None:
        if instance.pk is None:
            self._row_changes.append("created")
        unionid = _cell(row, "unionid")
        if unionid:
            if len(unionid) > 64:
                raise ValidationError({"unionid": [_("A unionid is at most 64 characters.")]})
            if instance.unionid and instance.unionid != unionid:
                raise ValidationError({"unionid": [
                    _("The follower has another unionid (%(u)s); the platform's stays.")
                    % {"u": instance.unionid}]})
            if instance.unionid != unionid:
                instance.unionid = unionid
                self._row_changes.append("unionid")
        remark = _cell(row, "remark")
        if remark:
            if len(remark) > self.REMARK_MAX:
                raise ValidationError({"remark": [_("At most %(n)s characters.")
                                                  % {"n": self.REMARK_MAX}]})
            if instance.remark != remark:
                instance.remark = remark
                self._row_changes.append("remark")
        language = _cell(row, "language")[:16]
        if language and instance.language != language:
            instance.language = language
            self._row_changes.append("language")

    def skip_row(self, instance: Follower, original: Any, row: Any,
                 import_validation_errors: Any = None) -> bool:
        return not import_validation_errors and not self._row_changes

    def validate_instance(self, instance: Any, import_validation_errors: Any = None,
                          validate_unique: bool = True) -> None:
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def save_instance(self, instance: Follower, is_create: bool, row: Any, **kwargs: Any
                      ) -> None:
        if is_create:
            instance.customer = Customer.objects.create(brand_id=instance.brand_id)
        super().save_instance(instance, is_create, row, **kwargs)

    def after_save_instance(self, instance: Follower, row: Any, **kwargs: Any) -> None:
        follower_link_customer(follower=instance)
