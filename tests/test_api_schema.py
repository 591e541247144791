"""The schema documents every status the API answers, with the body it answers with.

400, 401, 403 and 429 on every operation (the NUL check reads every query string; every
operation needs a key and a role; each key has a rate), 404 where the path names an object
or the list pages, 409 where a domain Conflict can be raised, 415 where there is a body.
The statuses are checked by answering them here, and by tests/api_fuzz/.
"""

import pytest
from django.core.cache import cache

from accounts.services import api_key_create
from tests.api_support import api_schema, operation, operations, request_schema, write_operations

pytestmark = pytest.mark.django_db

CONFLICTS = {
    # The CRM: one sync at a time per account; names unique per brand.
    ("POST", "/api/v1/follower-syncs/"),
    ("POST", "/api/v1/campaigns/"), ("PUT", "/api/v1/campaigns/{id}/"),
    ("PATCH", "/api/v1/campaigns/{id}/"), ("DELETE", "/api/v1/campaigns/{id}/"),
    ("POST", "/api/v1/qrcodes/"), ("PATCH", "/api/v1/crm-retention/"),
    # A tag's rename or delete that WeChat refuses on an account (followers.tags).
    ("PUT", "/api/v1/tags/{id}/"), ("PATCH", "/api/v1/tags/{id}/"),
    ("DELETE", "/api/v1/tags/{id}/"),
    ("POST", "/api/v1/accounts/"), ("PUT", "/api/v1/accounts/{id}/"),
    ("PATCH", "/api/v1/accounts/{id}/"), ("PUT", "/api/v1/members/{id}/"),
    ("PATCH", "/api/v1/members/{id}/"), ("DELETE", "/api/v1/members/{id}/"),
    ("POST", "/api/v1/invitations/"), ("POST", "/api/v1/teams/"),
    ("PUT", "/api/v1/teams/{id}/"), ("PATCH", "/api/v1/teams/{id}/"),
    ("POST", "/api/v1/conversations/{id}/assign/"),
    ("POST", "/api/v1/conversations/claim_next/"),  # at capacity
    ("POST", "/api/v1/conversations/{id}/snooze/"),
    ("POST", "/api/v1/conversations/{id}/transfer/"),
    ("POST", "/api/v1/conversations/{id}/messages/"),
    ("POST", "/api/v1/conversations/{id}/messages/{message_id}/retry/"),
    ("POST", "/api/v1/prepared-responses/"), ("PUT", "/api/v1/prepared-responses/{id}/"),
    ("PATCH", "/api/v1/prepared-responses/{id}/"),
    ("POST", "/api/v1/business-hours/"),  # hours exist already: PUT them
    ("POST", "/api/v1/routing/rules/reorder/"),  # the ids are not the current rules
    ("POST", "/api/v1/conversations/{id}/hand-to-speaker/"),  # nobody speaks it, full
    ("POST", "/api/v1/transfers/{id}/accept/"), ("POST", "/api/v1/transfers/{id}/decline/"),
}


# Operations whose body names other objects by id: a missing or foreign one is 404.
NOT_FOUND_IN_BODY = {
    ("POST", "/api/v1/follower-syncs/"), ("POST", "/api/v1/qrcodes/"),
    ("POST", "/api/v1/invitations/"), ("POST", "/api/v1/teams/"),
    ("POST", "/api/v1/prepared-responses/"),
    ("POST", "/api/v1/business-hours/"), ("POST", "/api/v1/business-hours/closures/"),
    ("POST", "/api/v1/routing/rules/"),
    ("POST", "/api/v1/routing/simulate/"),  # the account
}


def _error_ref(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("method,path", operations())
def test_every_operation_documents_the_errors_it_answers(method, path):
    responses = operation(method, path)["responses"]
    expected = {"400", "401", "403", "429"}
    if "{" in path or any(p["name"] == "page" for p in operation(method, path).get(
            "parameters", [])):
        expected.add("404")
    if (method, path) in NOT_FOUND_IN_BODY:
        expected.add("404")
    if any(p["name"] == "format" for p in operation(method, path).get("parameters", [])):
        expected.add("404")  # a ?format= it does not offer
    if (method, path) in CONFLICTS:
        expected.add("409")
    if request_schema(method, path) is not None:
        expected.add("415")
    errors = {code for code in responses if code >= "400"}
    assert errors == expected, (method, path)
    for code in errors:
        assert _error_ref(responses[code]) == ("ValidationError" if code == "400" else "Error")
    assert "Retry-After" in responses["429"]["headers"]


def test_the_error_components_are_what_the_handler_answers():
    schemas = api_schema()["components"]["schemas"]
    assert schemas["Error"]["required"] == ["detail"]
    assert schemas["ValidationError"]["properties"]["detail"]["type"] == "string"


@pytest.mark.parametrize("method,path", write_operations())
def test_every_request_body_takes_no_other_fields(method, path):
    # The schema's side of StrictInput: every write serializer refuses unknown fields.
    assert request_schema(method, path)["additionalProperties"] is False


def test_only_the_image_reply_reads_multipart():
    multipart = [
        (m, p) for m, p in operations()
        if "multipart/form-data" in operation(m, p).get("requestBody", {}).get("content", {})
    ]
    assert multipart == [("POST", "/api/v1/conversations/{id}/messages/")]


def test_prepared_search_is_documented_as_a_page():
    schema = operation("GET", "/api/v1/prepared-responses/search/")
    ok = schema["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/PaginatedPreparedResponseList")
    assert {p["name"] for p in schema["parameters"]} == {
        "account", "q", "language", "page", "page_size"
    }


@pytest.mark.parametrize(("method", "path"), operations())
def test_an_empty_query_parameter_may_be_sent_only_where_it_is_optional(method, path):
    # An empty one means "not given": a required one sent empty is refused (400), so the
    # schema must not say it may be empty (schemathesis sent ?account= to transfer-paths).
    for parameter in operation(method, path).get("parameters", []):
        if parameter["in"] == "query":
            assert parameter.get("allowEmptyValue", False) is not parameter.get("required",
                                                                                False)


def test_an_empty_required_query_parameter_is_refused_as_missing(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    conversation = two_brands["conversation_a"]
    response = client.get(f"/api/v1/conversations/{conversation.pk}/transfer-paths/",
                          {"account": ""})
    assert response.status_code == 400 and "account" in response.json()


def test_the_documented_errors_are_answered(client, two_brands):
    # 401 and its body: no key, a revoked or unknown one.
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer bp_nothing"}):
        response = client.get("/api/v1/accounts/", **headers)
        assert response.status_code == 401 and "detail" in response.json()
    # 403: a member whose role does not allow it.
    client.force_login(two_brands["agent_a"].user)
    response = client.post("/api/v1/teams/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403 and "detail" in response.json()
    # 409: a domain conflict.
    client.force_login(two_brands["admin_a"].user)
    response = client.post("/api/v1/teams/", {"name": "A team"},
                           content_type="application/json")
    assert response.status_code == 409 and "exists" in response.json()["detail"]
    # 404 for a page past the last one.
    response = client.get("/api/v1/teams/", {"page": 9})
    assert response.status_code == 404 and "detail" in response.json()


def test_an_api_key_past_its_rate_gets_429_with_retry_after(client, two_brands, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"},
    }
    key, raw = api_key_create(brand=two_brands["brand_a"], name="busy")
    other_key, other_raw = api_key_create(brand=two_brands["brand_a"], name="quiet")
    try:
        statuses = [client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw}")
                    for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert int(statuses[-1]["Retry-After"]) > 0
        assert "throttled" in statuses[-1].json()["detail"]
        # The budget is the key's own: another key of the brand, and a person, still pass.
        quiet = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {other_raw}")
        assert quiet.status_code == 200
        client.force_login(two_brands["admin_a"].user)
        assert all(client.get("/api/v1/teams/").status_code == 200 for _ in range(4))
    finally:
        for k in (key, other_key):
            cache.delete(f"throttle_api_key_{k.pk}:{k.prefix}")


def test_without_a_rate_there_is_no_limit_and_no_429_in_the_schema(client, two_brands, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": None},
    }
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "429" not in schema["paths"]["/api/v1/teams/"]["get"]["responses"]
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="unlimited")
    for _ in range(5):
        assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
