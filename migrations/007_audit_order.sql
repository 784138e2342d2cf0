-- The audit log is read newest first by id, per tenant (cadre audit, GET /v1/audit).
CREATE INDEX audit_by_tenant_id ON audit_log (tenant, id);
