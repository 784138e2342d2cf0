import { afterEach, describe, expect, it } from 'vitest';
import { makeEnv, eventually, type TestEnv } from '../support/runtime.ts';
import { reply, startFakeAnthropic, type FakeAnthropic, type WireBlock } from '../support/fake-anthropic.ts';
import { claudePlanner, createAnthropicAdapter } from '../../agents/planners/index.ts';
import { dealEntity } from '../../machines/index.ts';
import type { AgentDefinition } from '../../agents/types.ts';
import type { EffectHandler } from '../../runtime/index.ts';

// The Claude planner inside a real runtime: the real SDK against a fake Messages API
// on 127.0.0.1, its tool calls planned into the agent's run and carried out only
// through the real gate.

const T = 'acme';

const sales: AgentDefinition = {
  name: 'sales',
  title: 'Sales',
  mission: 'Sales: turn leads into won deals.',
  jobs: [
    {
      name: 'sales-pipeline-review',
      cron: '0 8 * * 1-5',
      description: 'Review the pipeline; follow up idle deals.',
      missed: 'skip',
      check: async () => ({ summary: 'D-1 idle for 9 days', findings: { idle: ['D-1'] }, actions: [], hints: [] }),
    },
  ],
  reactions: [],
  accepts: [],
  tools: ['send_email', 'notify_team'],
};

function toolResults(fake: FakeAnthropic, n: number): Extract<WireBlock, { type: 'tool_result' }>[] {
  const body = fake.requests[n]?.body;
  const last = body?.messages[body.messages.length - 1];
  const content = Array.isArray(last?.content) ? last.content : [];
  return content.filter((b): b is Extract<WireBlock, { type: 'tool_result' }> => b.type === 'tool_result');
}

const text = (b: { content?: string | { type: 'text'; text: string }[] }) => (typeof b.content === 'string' ? b.content : (b.content ?? []).map((c) => c.text).join(''));

describe('the Claude planner through the real gate (embedded)', () => {
  let env: TestEnv;
  let fake: FakeAnthropic;
  afterEach(async () => {
    await env?.cleanup();
    await fake?.close();
  });

  it('a tool call the gate holds for approval, and a tool call with bad arguments that is answered with the error and never run', async () => {
    fake = await startFakeAnthropic();
    const sent: unknown[] = [];
    const email: EffectHandler = { actionType: 'email.send', async run(req) { sent.push(req.params); return { id: 'm-1' }; } };
    env = await makeEnv('embedded');
    const planner = claudePlanner(createAnthropicAdapter({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0, timeoutMs: 5000 }));
    const rt = await env.start({ entities: [dealEntity], agents: [sales], planner, effects: [email] });
    await rt.agents.ensureTenant(T);
    fake.enqueue(
      reply.tools([
        { id: 'tu_1', name: 'send_email', input: { to: 'buyer@roofco.example', subject: 'Checking in on the roof automation', body: 'Hi, any questions on the proposal?', related: 'deal/D-1' } },
        { id: 'tu_2', name: 'send_email', input: { to: 'not-an-email', subject: 'x', body: 'y' } },
      ]),
      reply.text('Drafted one follow-up for D-1; it waits for approval.'),
    );
    const id = await rt.agents.runNow(T, 'sales-pipeline-review', 'operator:ana');
    const run = await eventually(async () => {
      const r = await rt.agents.runs.get(T, id);
      return r?.status === 'completed' ? r : undefined;
    });

    // The model heard back about both calls: one requested (and what the gate will do), one refused with the zod error.
    const results = toolResults(fake, 1);
    expect(results.map((r) => r.tool_use_id)).toEqual(['tu_1', 'tu_2']);
    expect(results[0]!.is_error ?? false).toBe(false);
    expect(text(results[0]!)).toMatch(/approval/i);
    expect(results[1]!.is_error).toBe(true);
    expect(text(results[1]!)).toContain('to');

    // Only the valid call became an action, and the gate holds it for a person.
    expect(run).toMatchObject({ planner: 'claude', summary: 'Drafted one follow-up for D-1; it waits for approval.', counts: { requested: 1, awaiting_approval: 1 } });
    expect(run.findings).toMatchObject({ planner: 'claude', refusedToolCalls: [expect.objectContaining({ tool: 'send_email' })] });
    const [approval] = await rt.approvals.list(T, { status: 'pending' });
    expect(approval).toMatchObject({ agent: 'sales', action_type: 'email.send', kind: 'task', risk: 'high' });
    expect(approval!.params).toMatchObject({ to: 'buyer@roofco.example' });
    expect(sent).toHaveLength(0);
    const audit = await rt.audit(T, {});
    expect(audit.some((a) => a.entry === 'decision' && a.outcome === 'approval' && a.action_type === 'email.send')).toBe(true);

    // Approved by a person, it runs.
    await rt.approvals.approve(T, approval!.id, 'operator:ana');
    await eventually(async () => (sent.length === 1 ? true : undefined));
  });
});
