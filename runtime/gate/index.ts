export { Gate, approvalIdOf, previewOf, type EffectRecord, type Claim } from './gate.ts';
export { Approvals, ApprovalError, ApprovalFilter, type Approval, type BulkResult } from './approvals.ts';
export { Proposals, ProposalError, type Proposal } from './learning.ts';
export { GateSettings, LevelSetting, RiskSetting, LimitSetting, Suppression, type TenantGate } from './settings.ts';
export { readAudit, AuditQuery, type AuditRow, type AuditEntry } from './audit.ts';
export { AutonomyLevel, RiskClass, autoExecutes, resolveLevel } from './levels.ts';
export { ACTION_TYPES, actionTypeInfo, type ActionTypeInfo } from './actions.ts';
export { decide, type Decision } from './decide.ts';
export { checkPolicies, humanTaskAllowed, findSecret, recipients, type PolicyName, type Violation } from './policies.ts';
