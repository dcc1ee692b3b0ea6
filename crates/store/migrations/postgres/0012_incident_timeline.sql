-- An incident's page lists the notifications sent about it.
CREATE INDEX notifications_incident ON notifications (incident_id) WHERE incident_id IS NOT NULL;
