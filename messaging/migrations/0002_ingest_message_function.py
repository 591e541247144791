"""PostgreSQL: ``messaging_ingest_message``, a follower's message stored in one round trip.

The same steps as ``messaging.ingest._user_message_orm`` (which SQLite runs), in the same
order and under the same lock: the delivery once (``inbound_once``), the follower (created
with a customer of its own when first seen) locked FOR UPDATE, its live conversation
resumed, a recently resolved one reopened or a new one opened, the message, and the
follower's reply window. Returns no row for a duplicate delivery.

Each statement inside a volatile PL/pgSQL function takes a fresh snapshot, so once the
follower row is locked the function sees what a concurrent delivery for the same follower
committed, as the ORM path does. ``tests/messaging/test_ingest_conversations.py`` runs
both paths through the same cases; a later change to these tables or to the ORM path needs a
migration that replaces the function.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION messaging_ingest_message(
    p_brand bigint, p_account bigint, p_dedupe_key text, p_msg_type text, p_openid text,
    p_inbound_payload jsonb, p_at timestamptz, p_now timestamptz, p_content text,
    p_fields jsonb, p_msg_id text, p_reopen_after timestamptz
) RETURNS TABLE (
    inbound_id bigint, follower_id bigint, follower_language text, customer_id bigint,
    conversation_id bigint, handling_account_id bigint, assignee_id bigint, team_id bigint,
    reason text, starts_wait boolean, message_id bigint
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_inbound bigint;
    v_customer bigint;
    v_follower bigint;
    f record;
    c record;
    v_reason text;
    v_starts_wait boolean;
    v_conversation bigint;
    v_handling bigint;
    v_assignee bigint;
    v_team bigint;
    v_message bigint;
BEGIN
    INSERT INTO messaging_inbound AS i (brand_id, account_id, dedupe_key, msg_type, event,
        openid, payload, created_time, received_at, attempts)
    VALUES (p_brand, p_account, p_dedupe_key, p_msg_type, '', p_openid, p_inbound_payload,
        p_at, p_now, 0)
    ON CONFLICT (account_id, dedupe_key) DO NOTHING
    RETURNING i.id INTO v_inbound;
    IF v_inbound IS NULL THEN
        RETURN;  -- a duplicate: nothing else happens
    END IF;

    SELECT fo.id, fo.customer_id, fo.language, fo.subscribed INTO f
    FROM followers_follower fo
    WHERE fo.account_id = p_account AND fo.openid = p_openid
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO followers_customer AS cu (brand_id, unionid, name, phone, email, notes,
            attributes, language, created_at, updated_at)
        VALUES (p_brand, '', '', '', '', '', '{}'::jsonb, '', p_now, p_now)
        RETURNING cu.id INTO v_customer;
        INSERT INTO followers_follower AS fo (brand_id, account_id, openid, customer_id,
            unionid, subscribed, subscribed_at, subscribe_scene, qr_scene, language, region,
            remark, window_sends, short_window_sends, created_at)
        VALUES (p_brand, p_account, p_openid, v_customer, '', true, p_at, '', '', '', '', '',
            0, 0, p_now)
        ON CONFLICT (account_id, openid) DO NOTHING
        RETURNING fo.id INTO v_follower;
        IF v_follower IS NULL THEN
            -- A concurrent delivery created the follower first: keep its customer.
            DELETE FROM followers_customer WHERE id = v_customer;
        END IF;
        SELECT fo.id, fo.customer_id, fo.language, fo.subscribed INTO f
        FROM followers_follower fo
        WHERE fo.account_id = p_account AND fo.openid = p_openid
        FOR UPDATE;
    END IF;

    SELECT co.id, co.status, co.waiting_since INTO c
    FROM messaging_conversation co
    WHERE co.follower_id = f.id AND co.status <> 'resolved'
    LIMIT 1;
    IF FOUND THEN
        v_reason := CASE WHEN c.status <> 'open' THEN 'reopened' END;
    ELSE
        SELECT co.id, co.status, co.waiting_since INTO c
        FROM messaging_conversation co
        WHERE co.follower_id = f.id AND co.status = 'resolved'
          AND co.resolved_at >= p_reopen_after
        ORDER BY co.resolved_at DESC
        LIMIT 1;
        IF FOUND THEN
            v_reason := 'reopened';
        END IF;
    END IF;
    IF c.id IS NOT NULL THEN
        v_starts_wait := c.waiting_since IS NULL;
        v_conversation := c.id;
        UPDATE messaging_conversation co SET
            status = 'open', snoozed_until = NULL, resolved_at = NULL,
            last_message_at = GREATEST(co.last_message_at, p_at),
            waiting_since = COALESCE(co.waiting_since, p_at),
            customer_id = COALESCE(co.customer_id, f.customer_id)
        WHERE co.id = c.id
        RETURNING co.handling_account_id, co.assignee_id, co.team_id
        INTO v_handling, v_assignee, v_team;
    ELSE
        INSERT INTO messaging_conversation AS co (brand_id, channel_account_id,
            handling_account_id, follower_id, customer_id, status, language, opened_at,
            last_message_at, waiting_since)
        VALUES (p_brand, p_account, p_account, f.id, f.customer_id, 'open', f.language, p_at,
            p_at, p_at)
        RETURNING co.id, co.handling_account_id INTO v_conversation, v_handling;
        v_reason := 'opened';
        v_starts_wait := true;
    END IF;

    INSERT INTO messaging_message AS m (brand_id, conversation_id, account_id, direction,
        msg_type, content, payload, media, wechat_msg_id, sender_display, status,
        error_reason, created_at)
    VALUES (p_brand, v_conversation, p_account, 'in', p_msg_type, p_content, p_fields, '',
        p_msg_id, '', 'received', '', p_now)
    RETURNING m.id INTO v_message;

    -- The reply window: an older delivery arriving late never moves it backwards.
    UPDATE followers_follower fo SET
        last_inbound_at = GREATEST(fo.last_inbound_at, p_at),
        window_sends = CASE WHEN fo.window_opened_at IS NULL OR p_at >= fo.window_opened_at
                            THEN 0 ELSE fo.window_sends END,
        window_opened_at = CASE WHEN fo.window_opened_at IS NULL
                                  OR p_at >= fo.window_opened_at
                                THEN p_at ELSE fo.window_opened_at END,
        subscribed = true
    WHERE fo.id = f.id;

    RETURN QUERY
    SELECT v_inbound, f.id, f.language::text, f.customer_id, v_conversation, v_handling,
           v_assignee, v_team, v_reason, v_starts_wait, v_message;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS messaging_ingest_message(bigint, bigint, text, text, text, jsonb,
    timestamptz, timestamptz, text, jsonb, text, timestamptz);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("followers", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
