"""The parts of the schemathesis run hold every operation of the schema, each once."""

from tests.api_fuzz.schema_run import PARTS, part, schema


def _labels(of) -> list[str]:  # noqa: ANN001 (a schemathesis schema)
    return [result.ok().label for result in of.get_all_operations()]


def test_every_operation_is_in_exactly_one_part():
    everything = _labels(schema)
    parts = [_labels(part(n)) for n in range(PARTS)]
    assert sorted(label for labels in parts for label in labels) == sorted(everything)
    assert all(parts), parts  # none is empty: each module has tests to run
    assert len(everything) > 100
