-- Tells listeners (tana-edge's contract cache) which contract row changed.
-- Payload: {"id": ..., "name": ...}. A rename also notifies the old name so caches keyed
-- by name drop it.

CREATE OR REPLACE FUNCTION tana_contracts_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('tana_contracts', json_build_object('id', OLD.id, 'name', OLD.name)::text);
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.id <> OLD.id OR NEW.name <> OLD.name) THEN
    PERFORM pg_notify('tana_contracts', json_build_object('id', NEW.id, 'name', NEW.name)::text);
  END IF;
  RETURN NULL;
END
$$;

-- DROP + CREATE rather than CREATE OR REPLACE TRIGGER, which needs Postgres 14.
DROP TRIGGER IF EXISTS contracts_notify ON contracts;
CREATE TRIGGER contracts_notify
  AFTER INSERT OR UPDATE OR DELETE ON contracts
  FOR EACH ROW EXECUTE FUNCTION tana_contracts_notify();
