-- outbox.current_drift: the findings of the latest drift check of each destination.
CREATE OR REPLACE VIEW outbox.current_drift AS
SELECT d.*
  FROM outbox.mapping_drift d
 WHERE d.checked_at = (SELECT max(x.checked_at) FROM outbox.mapping_drift x
                        WHERE x.destination = d.destination);
COMMENT ON VIEW outbox.current_drift IS 'What the latest drift check of each destination found (empty when the org still matches the mappings).';
