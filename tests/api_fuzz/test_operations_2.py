"""Part 2 of the REST API's operations against its schema (tests/api_fuzz/schema_run.py)."""

from tests.api_fuzz.schema_run import operations_test

test_the_api_answers_as_its_schema_says = operations_test(2)
