"""How a socket reads its brand's numbered stream (`routing.cursor.StreamCursor`): what it
relays, and when it owes its screen a resync. No sockets, no Redis: the clock is given."""

from routing.cursor import MAX_AWAITED, StreamCursor

GRACE = 3.0


def _cursor(last: int = 4, epoch: str | None = "e1") -> StreamCursor:
    return StreamCursor((last, epoch), grace=GRACE)


def test_the_next_number_is_relayed_and_nothing_is_owed():
    cursor = _cursor()
    assert cursor.receive(5, "e1", now=0.0) == (True, None)
    assert cursor.receive(6, "e1", now=0.0) == (True, None)
    assert cursor.overdue(now=100.0) is None


def test_a_number_overtaken_by_the_next_is_waited_for_within_the_grace():
    cursor = _cursor()
    # Two workers pushed at once: 6 arrives first, 5 a moment later.
    assert cursor.receive(6, "e1", now=10.0) == (True, None)
    assert cursor.overdue(now=10.0 + GRACE - 0.1) is None
    assert cursor.receive(5, "e1", now=11.0) == (True, None)
    assert cursor.overdue(now=100.0) is None


def test_a_number_that_never_arrives_is_a_gap_once_its_grace_is_over():
    cursor = _cursor()
    assert cursor.receive(6, "e1", now=10.0) == (True, None)
    assert cursor.overdue(now=10.0 + GRACE) == "sequence"
    # Owed once: the screen reloads, and what was awaited no longer matters...
    assert cursor.overdue(now=200.0) is None
    # ...not even if it turns up late.
    assert cursor.receive(5, "e1", now=201.0) == (False, None)


def test_a_repeated_number_is_not_relayed_twice():
    cursor = _cursor()
    assert cursor.receive(5, "e1", now=0.0) == (True, None)
    assert cursor.receive(5, "e1", now=0.0) == (False, None)
    assert cursor.receive(3, "e1", now=0.0) == (False, None)


def test_a_new_epoch_means_the_counter_began_again_and_anything_was_missed():
    cursor = _cursor(last=40)
    assert cursor.receive(1, "e2", now=0.0) == (True, "restart")
    assert (cursor.last, cursor.epoch) == (1, "e2")
    assert cursor.receive(2, "e2", now=0.0) == (True, None)


def test_the_position_shows_the_last_message_was_lost_when_nothing_follows_it():
    cursor = _cursor()
    # Redis has given 5 and 6; neither arrived. On their way, perhaps: not a gap yet.
    assert cursor.observe((6, "e1"), now=10.0) is None
    assert cursor.receive(5, "e1", now=10.5) == (True, None)
    assert cursor.observe((6, "e1"), now=10.0 + GRACE) == "sequence"


def test_a_counter_gone_from_redis_or_renamed_is_a_restart():
    assert _cursor().observe((0, None), now=0.0) == "restart"
    assert _cursor().observe((2, "e9"), now=0.0) == "restart"


def test_a_socket_opened_before_any_message_adopts_the_first_epoch():
    cursor = _cursor(last=0, epoch=None)
    assert cursor.observe((0, None), now=0.0) is None
    assert cursor.receive(1, "e1", now=0.0) == (True, None)
    # Opened before the counter existed, then 1 and 2 were given and only 2 arrived.
    cursor = _cursor(last=0, epoch=None)
    assert cursor.receive(2, "e1", now=0.0) == (True, None)
    assert cursor.overdue(now=GRACE) == "sequence"


def test_a_jump_too_long_to_wait_for_is_a_gap_at_once():
    cursor = _cursor()
    assert cursor.receive(5 + MAX_AWAITED, "e1", now=0.0) == (True, "sequence")
    assert cursor.awaited == {}
    assert cursor.observe((6 + 2 * MAX_AWAITED, "e1"), now=0.0) == "sequence"
