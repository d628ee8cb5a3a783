"""Planning a batch's rounds as one composite call: what each later round sends, and the
composite's limits (the REST API guide's Composite resource page)."""

from __future__ import annotations

from dispatcher.destinations.salesforce.plan import BatchPlan, RecordWrite
from dispatcher.destinations.salesforce.runs import plan_run
from dispatcher.mapping import Operation


def write_factory(
    obj: str,
    key: str,
    operation: Operation = Operation.CREATE,
    body: dict[str, object] | None = None,
    update_body: dict[str, object] | None = None,
    version: int | None = None,
) -> RecordWrite:
    body = {"Name": key} if body is None else body
    update = dict(body) if update_body is None else update_body
    return RecordWrite(obj, "Ext__c", key, operation, body, update, {key}, version=version)


def plan_factory(*writes: RecordWrite) -> BatchPlan:
    return BatchPlan((), {w.key: w for w in writes}, ())


def test_plan_run_sends_a_later_rounds_create_of_an_earlier_record_as_its_update() -> None:
    first = plan_factory(write_factory("Order", "SO-1"), write_factory("OrderItem", "SO-1-1"))
    later = plan_factory(
        write_factory(
            "Order", "SO-1", body={"Status": "x", "AccountId": "a"}, update_body={"Status": "x"}
        ),
        write_factory("OrderItem", "SO-1-1", update_body={}),
        write_factory("Shipment__c", "P-1"),
    )
    run = plan_run([first, later])
    assert run is not None
    sent = [(w.object_name, w.operation, w.body) for step in run.steps for w in step]
    assert sent == [
        ("Order", Operation.CREATE, {"Name": "SO-1"}),
        ("OrderItem", Operation.CREATE, {"Name": "SO-1-1"}),
        ("Order", Operation.UPDATE, {"Status": "x"}),
        ("Shipment__c", Operation.CREATE, {"Name": "P-1"}),
    ]
    assert [(w.object_name, w.operation) for w in run.writes] == [
        ("Order", Operation.CREATE), ("OrderItem", Operation.CREATE),
        ("Shipment__c", Operation.CREATE),
    ]  # fmt: skip


def test_plan_run_leaves_a_customer_written_twice_to_the_rounds() -> None:
    first = plan_factory(write_factory("Contact", "c-1", version=2))
    later = plan_factory(write_factory("Contact", "c-1", Operation.UPDATE, version=1))
    assert plan_run([first, later]) is None


def test_plan_run_holds_at_most_five_collections_and_25_subrequests() -> None:
    def many(obj: str, count: int = 2) -> list[RecordWrite]:
        return [write_factory(obj, f"{obj}-{n}") for n in range(count)]

    five = [plan_factory(*many(f"O{n}__c")) for n in range(5)]
    run = plan_run(five)
    assert run is not None
    assert [len(step) for step in run.steps] == [2] * 5
    singles = [plan_factory(write_factory(f"O{n}__c", "k")) for n in range(25)]
    assert plan_run(singles) is not None
    assert plan_run([*singles, plan_factory(write_factory("O26__c", "k"))]) is None
    # A sixth chunk goes record by record; the largest five stay Collections.
    run = plan_run([*five[:4], plan_factory(*many("O5__c", 3)), plan_factory(*many("O6__c"))])
    assert run is not None
    assert [len(step) for step in run.steps] == [2, 2, 2, 2, 3, 1, 1]
    # Five Collections and 20 records alone are 25 subrequests; one more record is too many.
    alone = [plan_factory(write_factory(f"A{n}__c", "k")) for n in range(21)]
    assert plan_run([*five, *alone[:20]]) is not None
    assert plan_run([*five, *alone]) is None
