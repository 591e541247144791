"""The base of the operators' Django admin (accounts/admin.py registers the models).

`ScopedAdmin` is the one base every admin a staff member may open derives from: it scopes
the change list, every choice (foreign keys, many-to-many, raw ids, autocomplete through
the target's own admin), every list filter and every save to the staff member's scope
(`request.tenant`). An admin declares only how its rows are scoped (`scoped()`) and which
product capability changing them takes. Superusers keep every power.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import Brand, OfficialAccount, Role
from accounts.scope import Scope

# Lowest first: a staff member may hand out, and change rows holding, their own role or
# a lower one.
ROLE_ORDER = (Role.AGENT, Role.MANAGER, Role.ADMIN, Role.OWNER)


def role_rank(role: str) -> int:
    return ROLE_ORDER.index(role)


def is_role_field(field: models.Field) -> bool:
    return bool(field.choices) and {value for value, _label in field.flatchoices} == set(
        Role.values
    )


def covers_whole_brand(obj: models.Model) -> bool:
    """Whether `obj` reaches every account of its brand: an empty account choice means all
    of them (a brand-wide prepared response, a team or member with no accounts)."""
    for field in obj._meta.get_fields():
        if field.auto_created or field.related_model is not OfficialAccount:
            continue
        if field.many_to_many and not getattr(obj, field.name).exists():
            return True
        if field.many_to_one and field.null and getattr(obj, field.attname) is None:
            return True
    return False


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw id box that names only objects the staff member may choose. The stock widget
    looks the typed id up unscoped, so a form sent back with a foreign id would show that
    object's name and link."""

    def __init__(self, rel: object, admin_site: admin.AdminSite, queryset: QuerySet,
                 **kwargs: object) -> None:
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value: object) -> tuple[str, str]:
        try:
            self.queryset.get(pk=value)
        except (ValueError, TypeError, ValidationError, self.queryset.model.DoesNotExist):
            return "", ""
        return super().label_and_url_for_value(value)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A relation's list filter offering only what the staff member may choose."""

    def field_choices(self, field: models.Field, request: HttpRequest,
                      model_admin: admin.ModelAdmin) -> list:
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        allowed = model_admin.choices_for(field.related_model, request)
        return field.get_choices(
            include_blank=False,
            limit_choices_to={"pk__in": allowed.values("pk")},
            ordering=self.field_admin_ordering(field, request, model_admin),
        )


class ScopedAdmin(admin.ModelAdmin):
    # The product capability (accounts/scope.py) a staff member's role needs to change or
    # delete these rows, on top of Django's model permission; None: any role.
    capability: str | None = None

    def scoped(self, request: HttpRequest) -> QuerySet:
        """The staff member's rows, from their scope (`request.tenant`) and the selectors."""
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if not qs.ordered:
            # The autocomplete pages through this queryset as it is.
            qs = qs.order_by("-pk")
        if request.user.is_superuser:
            return qs
        if getattr(request, "tenant", None) is None:
            return qs.none()
        scoped = self.scoped(request)
        return qs.filter(pk__in=scoped.values("pk"))

    def choices_for(self, model: type[models.Model], request: HttpRequest) -> QuerySet:
        """What a staff member may pick of `model`: the rows its own admin shows them, and
        nothing of a model no scoped admin serves (platform rows, groups, permissions)."""
        try:
            related = self.admin_site.get_model_admin(model)
        except NotRegistered:
            related = None
        if isinstance(related, ScopedAdmin):
            return related.get_queryset(request)
        return model._default_manager.none()

    # --- permissions --------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creating tenant rows goes through the portal's services; operators edit.
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_write(request, obj)

    def _may_write(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if request.user.is_superuser:
            return True
        scope = getattr(request, "tenant", None)
        if scope is None or (self.capability is not None and not scope.can(self.capability)):
            return False
        return obj is None or self.may_write(request, scope, obj)

    def may_write(self, request: HttpRequest, scope: Scope, obj: models.Model) -> bool:
        """Whether a staff member may change or delete `obj`, one of their scoped rows."""
        for field in obj._meta.concrete_fields:
            if is_role_field(field) and role_rank(getattr(obj, field.attname)) > role_rank(
                scope.role
            ):
                return False
        # Someone who serves some accounts leaves rows that reach all of them alone.
        return scope.is_brand_wide or not covers_whole_brand(obj)

    # --- the change form ----------------------------------------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [
                f.name
                for f in self.model._meta.concrete_fields
                if f.related_model is Brand and f.name not in fields
            ]
        return fields

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest,
                                 **kwargs: object) -> forms.Field | None:
        if not request.user.is_superuser:
            kwargs["queryset"] = self.choices_for(db_field.related_model, request)
            if db_field.name in self.raw_id_fields:
                kwargs["widget"] = ScopedRawIdWidget(
                    db_field.remote_field, self.admin_site, kwargs["queryset"],
                    using=kwargs.get("using"),
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: models.ManyToManyField, request: HttpRequest,
                                 **kwargs: object) -> forms.Field | None:
        if not request.user.is_superuser:
            kwargs["queryset"] = self.choices_for(db_field.related_model, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field: models.Field, request: HttpRequest,
                                   **kwargs: object) -> forms.Field:
        scope = getattr(request, "tenant", None)
        if is_role_field(db_field) and not request.user.is_superuser and scope is not None:
            kwargs["choices"] = [
                (value, label)
                for value, label in Role.choices
                if role_rank(value) <= role_rank(scope.role)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: models.Model | None = None,
                 change: bool = False, **kwargs: object) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        scope = getattr(request, "tenant", None)
        if request.user.is_superuser or scope is None:
            return form
        # The class is new on every call, so its fields are ours to adjust.
        for name, field in form.base_fields.items():
            if not isinstance(field, forms.ModelChoiceField):
                continue
            try:
                db_field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if obj is not None:
                field.queryset = _with_current_values(field.queryset, obj, db_field)
            if db_field.related_model is OfficialAccount and not scope.is_brand_wide:
                # An empty account choice means every account of the brand.
                field.required = True
                field.error_messages["required"] = _(
                    "Choose the accounts: none would mean every account of the brand."
                )
        return form

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: list,
                     change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The last line: what was saved is still the staff member's. The admin saves in one
        # transaction, so refusing here undoes the save.
        if not request.user.is_superuser and not self.get_queryset(request).filter(
            pk=form.instance.pk
        ).exists():
            raise PermissionDenied

    # --- the change list ----------------------------------------------------------------

    def get_list_filter(self, request: HttpRequest) -> list:
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
                entry = (entry, ScopedRelatedFieldListFilter)
            filters.append(entry)
        return filters


def _with_current_values(queryset: QuerySet, obj: models.Model,
                         db_field: models.Field) -> QuerySet:
    """The choices plus what `obj` holds already, so a field left alone stays valid (a
    manager's team may cover an account they do not serve; saving must not drop it)."""
    if db_field.many_to_many:
        current = getattr(obj, db_field.name).values("pk")
    else:
        current = [getattr(obj, db_field.attname)]
    return queryset.model._default_manager.filter(
        Q(pk__in=queryset.values("pk")) | Q(pk__in=current)
    )


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """The platform's own rows: staff who are not superusers neither see nor reach them."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Every door (history included, which looks the row up before asking) answers
        # staff as for a row that does not exist.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.none()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_active and request.user.is_superuser
