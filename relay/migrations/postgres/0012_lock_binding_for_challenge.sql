-- A challenge insert's check of its user, for the insert's one statement
-- (relay/src/store/sql/challenges.rs), as onepush_lock_user (0011) but answering the whole
-- binding as it stands after the lock (the row type follows the table), so the statement
-- decides on and answers the binding's state, kind and credential read after any
-- concurrent change committed: the user's binding, locked to the end of the calling
-- statement's transaction, then the user's pending, not overdue challenges counted. In
-- a volatile function each query takes a fresh snapshot, so the count, taken after the
-- lock, sees every challenge that a concurrent insert for the same user (on any relay)
-- committed while this one waited; the snapshot of a plain statement is taken before it
-- waits, and would miss them. No row: the user has no binding.
CREATE FUNCTION onepush_lock_binding(p_tenant TEXT, p_user TEXT, p_now BIGINT)
RETURNS TABLE (binding bindings, n BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SELECT b.* INTO binding
        FROM bindings b WHERE b.tenant_id = p_tenant AND b.user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT COUNT(*) INTO n FROM challenges c
        WHERE c.tenant_id = p_tenant AND c.user_id = p_user AND c.status = 'pending'
        AND c.expires_at > p_now;
    RETURN NEXT;
END
$$;

DROP FUNCTION onepush_lock_user(TEXT, TEXT, BIGINT);
