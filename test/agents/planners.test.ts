import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AnthropicConfigError,
  claudePlanner,
  createAnthropicAdapter,
  InvalidPlanError,
  ModelError,
  plannerFromEnv,
  rulesPlanner,
  type AnthropicOptions,
  type Check,
  type Plan,
  type PlanContext,
  type PlannedAction,
} from '../../agents/planners/index.ts';
import { TOOLS, TOOL_NAMES, toolJsonSchema, toolsFor, UnknownToolError } from '../../agents/tools.ts';
import { humanTaskAllowed, ManualClock, ReadModel } from '../../runtime/index.ts';
import { reply, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type WireBlock } from '../support/fake-anthropic.ts';

// The real SDK against a fake Messages API on loopback; `foresee` is a fake gate
// (the integration through the real gate is tested elsewhere).

const NOW = Date.parse('2026-03-02T09:00:00Z');

/** A rule-based action the checks propose: the Claude planner never returns it. */
const RULE_ACTION: PlannedAction = {
  actionType: 'email.send',
  params: { to: 'old@client.example', subject: 'Rule email', body: 'From the rules' },
  preview: 'Email old@client.example: Rule email',
};

const check: Check = async () => ({
  summary: 'One deal has been idle for 9 days.',
  findings: { idleDeals: ['D-1'], counts: { open: 4 } },
  actions: [RULE_ACTION],
  hints: ['look at D-1 again tomorrow'],
});

const work = (tools = ['send_email', 'notify_team']) => ({
  description: 'Review the open pipeline every weekday morning.',
  mission: 'Sales: turn leads into won deals, politely and on time.',
  check,
  tools,
});

function context(signal: AbortSignal = new AbortController().signal) {
  const foreseen: PlannedAction[] = [];
  const db = {
    query: async (): Promise<never> => {
      throw new Error('the planner tests read nothing');
    },
  };
  const ctx: PlanContext = {
    tenant: 'acme',
    agent: 'sales',
    job: 'sales-pipeline-review',
    trigger: 'schedule',
    input: {},
    read: new ReadModel(db, new ManualClock(NOW)),
    now: NOW,
    signal,
    foresee: async (action) => {
      foreseen.push(action);
      return { outcome: 'approval', reason: `sales is supervised, ${action.actionType} is high risk` };
    },
  };
  return { ctx, foreseen };
}

let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  await fake.close();
});

const adapter = (o: Partial<AnthropicOptions> = {}) => createAnthropicAdapter({ apiKey: fake.apiKey, baseURL: fake.url, model: 'claude-test-1', maxRetries: 0, timeoutMs: 5000, ...o });

/** The tool_result blocks of a request's last (user) message. */
function toolResults(req: RecordedRequest | undefined): Extract<WireBlock, { type: 'tool_result' }>[] {
  const last = req?.body?.messages.at(-1);
  expect(last?.role).toBe('user');
  const content = last?.content;
  return Array.isArray(content) ? content.filter((b): b is Extract<WireBlock, { type: 'tool_result' }> => b.type === 'tool_result') : [];
}

const EMAIL = { to: 'dana@client.example', subject: 'Your proposal', body: 'Hi Dana,\n\nThe proposal is attached.\n\nAcme', related: 'deal/D-1' };
const NOTE = { kind: 'brief', channel: 'sales', title: 'D-1 is idle', body: 'Nine days without a touch; I wrote to Dana.' };

describe('claude planner', () => {
  it('turns valid tool calls into validated actions and answers every tool_use id with what the gate will do', async () => {
    fake.enqueue(
      reply.tools(
        [
          { id: 'toolu_1', name: 'send_email', input: EMAIL },
          { id: 'toolu_2', name: 'notify_team', input: NOTE },
        ],
        'D-1 needs a nudge.',
      ),
      reply.text('D-1 was idle for nine days: I asked Dana about the proposal and told the sales channel.'),
    );
    const { ctx, foreseen } = context();
    const plan = await claudePlanner(adapter()).plan(ctx, work());

    expect(plan.actions).toEqual([
      { actionType: 'email.send', params: EMAIL, preview: 'Email dana@client.example: Your proposal', target: 'deal/D-1' },
      { actionType: 'notify.send', params: { ...NOTE, severity: 'info' }, preview: 'brief to #sales: D-1 is idle' },
    ]);
    expect(plan.actions).not.toContainEqual(RULE_ACTION);
    expect(foreseen.map((a) => a.actionType)).toEqual(['email.send', 'notify.send']);
    expect(plan.summary).toBe('D-1 was idle for nine days: I asked Dana about the proposal and told the sales channel.');
    expect(plan.findings).toEqual({
      idleDeals: ['D-1'],
      counts: { open: 4 },
      planner: 'claude',
      model: 'claude-test-1',
      toolCalls: 2,
      refusedToolCalls: [],
      rounds: 2,
      stopReason: 'end_turn',
    });
    expect(plan.hints).toEqual(['look at D-1 again tomorrow']);

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(first!.headers['x-api-key']).toBe(fake.apiKey);
    expect(first!.headers['anthropic-version']).toBe('2023-06-01');
    expect(first!.body!.model).toBe('claude-test-1');
    expect(first!.body!.system).toContain('Sales: turn leads into won deals');
    expect(first!.body!.system).toContain('Review the open pipeline every weekday morning.');
    expect(first!.body!.system).toMatch(/approval gate/);
    expect(first!.body!.system).toMatch(/No tasks for people unless a client explicitly asked/);
    expect(first!.body!.tools!.map((t) => t.name)).toEqual(['send_email', 'notify_team']);
    expect(first!.body!.tools![0]!.input_schema).toMatchObject({ type: 'object', required: ['to', 'subject', 'body'] });
    expect(first!.body!.messages[0]!.content).toContain('"idleDeals"');

    // The assistant turn goes back as it came, then one tool_result per tool_use id.
    expect(second!.body!.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(second!.body!.messages[1]!.content).toEqual([
      { type: 'text', text: 'D-1 needs a nudge.' },
      { type: 'tool_use', id: 'toolu_1', name: 'send_email', input: EMAIL },
      { type: 'tool_use', id: 'toolu_2', name: 'notify_team', input: NOTE },
    ]);
    const results = toolResults(second);
    expect(results.map((r) => r.tool_use_id)).toEqual(['toolu_1', 'toolu_2']);
    expect(results.every((r) => r.is_error === undefined)).toBe(true);
    expect(results[0]!.content).toBe("requested; the gate will hold it for a person's approval: sales is supervised, email.send is high risk");
    expect(results[1]!.content).toBe("requested; the gate will hold it for a person's approval: sales is supervised, notify.send is high risk");
  });

  it('answers a tool call with bad arguments with the zod error and adds no action for it', async () => {
    fake.enqueue(
      reply.tools([{ id: 'toolu_bad', name: 'send_email', input: { ...EMAIL, to: 'not-an-email' } }]),
      reply.tools([{ id: 'toolu_good', name: 'send_email', input: EMAIL }]),
      reply.text('Wrote to Dana.'),
    );
    const { ctx, foreseen } = context();
    const plan = await claudePlanner(adapter()).plan(ctx, work());

    const [refused] = toolResults(fake.requests[1]);
    expect(refused).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_bad', is_error: true });
    expect(refused!.content).toBe('✖ Invalid email address\n  → at to');
    expect(plan.actions.map((a) => a.params.to)).toEqual(['dana@client.example']);
    expect(foreseen).toHaveLength(1);
    expect(plan.findings).toMatchObject({ toolCalls: 2, refusedToolCalls: [{ tool: 'send_email', error: '✖ Invalid email address\n  → at to' }] });
    expect(toolResults(fake.requests[2])).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_good', content: expect.stringMatching(/^requested;/) }]);
  });

  it('refuses an unknown tool and a tool the agent was not given', async () => {
    fake.enqueue(
      reply.tools([
        { id: 'toolu_x', name: 'wire_money', input: { amount: 1e6 } },
        { id: 'toolu_y', name: 'publish_social_post', input: { network: 'x', text: 'Hello' } },
      ]),
      reply.text('I could not do either.'),
    );
    const { ctx, foreseen } = context();
    const plan = await claudePlanner(adapter()).plan(ctx, work());

    const results = toolResults(fake.requests[1]);
    expect(results.map((r) => [r.tool_use_id, r.is_error])).toEqual([
      ['toolu_x', true],
      ['toolu_y', true],
    ]);
    expect(results[0]!.content).toBe('unknown tool "wire_money"; the tools you have are send_email, notify_team');
    expect(results[1]!.content).toMatch(/^unknown tool "publish_social_post"/);
    expect(plan.actions).toEqual([]);
    expect(foreseen).toEqual([]);
    expect(plan.findings.refusedToolCalls).toEqual([
      { tool: 'wire_money', error: results[0]!.content },
      { tool: 'publish_social_post', error: results[1]!.content },
    ]);
  });

  it('stops after the most rounds, keeping the valid tool calls of every round', async () => {
    fake.enqueue(
      reply.tools([{ id: 'toolu_1', name: 'notify_team', input: NOTE }], 'First.'),
      reply.tools([{ id: 'toolu_2', name: 'notify_team', input: { ...NOTE, title: 'Again' } }], 'Second.'),
      reply.text('never asked for'),
    );
    const { ctx } = context();
    const plan = await claudePlanner(adapter(), { maxToolRounds: 2 }).plan(ctx, work());
    expect(fake.requests).toHaveLength(2);
    expect(fake.pending()).toBe(1);
    expect(plan.actions.map((a) => a.params.title)).toEqual(['D-1 is idle', 'Again']);
    expect(plan.summary).toBe('Second. (stopped after 2 model calls)');
    expect(plan.findings).toMatchObject({ rounds: 2, stopReason: 'tool_use' });
  });

  it('surfaces API errors as ModelError naming the cause', async () => {
    const { ctx } = context();
    fake.enqueue(reply.error(500, 'api_error', 'boom'));
    await expect(claudePlanner(adapter()).plan(ctx, work())).rejects.toSatisfy(
      (e) => e instanceof ModelError && e.code === 'server_error' && e.status === 500 && e.retryable && e.message === 'Claude API: server error (500 api_error: boom)',
    );

    fake.enqueue(reply.error(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after': '30' }));
    await expect(claudePlanner(adapter()).plan(ctx, work())).rejects.toSatisfy(
      (e) => e instanceof ModelError && e.code === 'rate_limited' && e.message === 'Claude API: rate limited (429 rate_limit_error: Number of requests has exceeded your rate limit); retry after 30 s',
    );

    fake.enqueue(reply.error(529, 'overloaded_error', 'Overloaded'));
    await expect(claudePlanner(adapter()).plan(ctx, work())).rejects.toMatchObject({ code: 'overloaded', retryable: true });

    // The fake refuses a wrong key itself, as the API does.
    await expect(claudePlanner(adapter({ apiKey: 'sk-wrong' })).plan(ctx, work())).rejects.toSatisfy(
      (e) => e instanceof ModelError && e.code === 'authentication' && !e.retryable && /401 authentication_error: invalid x-api-key\); check ANTHROPIC_API_KEY/.test(e.message),
    );
    expect(fake.requests).toHaveLength(4);
  });

  it('retries what the SDK retries, up to maxRetries, and says how many attempts failed', async () => {
    const { ctx } = context();
    const again = { 'retry-after-ms': '1' };
    fake.enqueue(reply.error(500, 'api_error', 'boom', again), reply.error(503, 'api_error', 'boom', again), reply.error(500, 'api_error', 'still boom', again));
    await expect(claudePlanner(adapter({ maxRetries: 2 })).plan(ctx, work())).rejects.toThrow('Claude API: server error (500 api_error: still boom) (after 3 attempts)');
    expect(fake.requests).toHaveLength(3);

    fake.enqueue(reply.error(500, 'api_error', 'blip', again), reply.text('Nothing to do.'));
    const plan = await claudePlanner(adapter({ maxRetries: 1 })).plan(ctx, work());
    expect(plan.summary).toBe('Nothing to do.');
    expect(fake.requests).toHaveLength(5);
  });

  it('fails a call that takes longer than the timeout', async () => {
    const { ctx } = context();
    fake.enqueue({ ...reply.text('too late'), delayMs: 5000 });
    const started = Date.now();
    await expect(claudePlanner(adapter({ timeoutMs: 200 })).plan(ctx, work())).rejects.toSatisfy(
      (e) => e instanceof ModelError && e.code === 'timeout' && e.message === 'Claude API: no answer within 200 ms (CADRE_CLAUDE_TIMEOUT_MS)',
    );
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('rejects with the run signal reason when the run is aborted during a call', async () => {
    const controller = new AbortController();
    const { ctx } = context(controller.signal);
    const reason = new Error('the run time limit passed');
    fake.enqueue((req) => {
      controller.abort(reason);
      return { ...reply.text(`late answer to ${req.body?.model}`), delayMs: 5000 };
    });
    await expect(claudePlanner(adapter()).plan(ctx, work())).rejects.toBe(reason);
  });

  it('refuses a tool list naming a tool outside the catalogue before calling the model', async () => {
    const { ctx } = context();
    await expect(claudePlanner(adapter()).plan(ctx, work(['send_email', 'teleport']))).rejects.toBeInstanceOf(UnknownToolError);
    expect(fake.requests).toEqual([]);
  });
});

describe('rules planner', () => {
  it('returns the plan of the checks', async () => {
    const { ctx } = context();
    const plan = await rulesPlanner.plan(ctx, work());
    expect(plan).toEqual<Plan>(await check(ctx));
    expect(rulesPlanner.name).toBe('rules');
  });

  it('refuses an invalid plan', async () => {
    const { ctx } = context();
    const bad = (async () => ({ summary: 'x', findings: {}, actions: [{ actionType: 'Send Email', params: {}, preview: '' }], hints: [] })) satisfies Check;
    const err = await rulesPlanner.plan(ctx, { ...work(), check: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidPlanError);
    expect((err as InvalidPlanError).message).toContain('must be an action type such as email.send');
    expect((err as InvalidPlanError).issues.map((i) => i.path.join('.'))).toEqual(['actions.0.actionType', 'actions.0.preview']);
  });

  it('honours the signal: already aborted, or aborted while a check hangs', async () => {
    const done = new AbortController();
    done.abort(new Error('too late'));
    await expect(rulesPlanner.plan(context(done.signal).ctx, work())).rejects.toThrow('too late');

    const controller = new AbortController();
    const hanging: Check = () => new Promise<Plan>(() => {});
    const pending = rulesPlanner.plan(context(controller.signal).ctx, { ...work(), check: hanging });
    controller.abort(new Error('the run time limit passed'));
    await expect(pending).rejects.toThrow('the run time limit passed');
  });
});

describe('tools', () => {
  it('offer every tool as a JSON Schema object the Messages API accepts', () => {
    expect(TOOL_NAMES).toEqual(['send_email', 'notify_team', 'publish_social_post', 'delegate_task', 'create_human_task', 'flag_client_at_risk', 'update_entity', 'run_research']);
    for (const tool of toolsFor(TOOL_NAMES)) {
      const schema = toolJsonSchema(tool);
      expect(schema.type).toBe('object');
      expect(schema).not.toHaveProperty('$schema');
      expect(schema).not.toHaveProperty('anyOf');
      expect(tool.description.length).toBeGreaterThan(20);
    }
    expect(() => toolsFor(['send_email', 'nope'])).toThrow(UnknownToolError);
  });

  it('map each tool onto its planned action', () => {
    const act = (name: string, args: unknown) => {
      const tool = TOOLS[name]!;
      return tool.toAction(tool.input.parse(args));
    };
    expect(act('publish_social_post', { network: 'linkedin', text: 'We shipped.' })).toMatchObject({ actionType: 'social.publish', params: { network: 'linkedin', text: 'We shipped.' } });
    expect(act('delegate_task', { to: 'delivery', task: 'check-order', input: { order: 'O-1' } })).toEqual({
      actionType: 'agent.delegate',
      params: { to: 'delivery', task: 'check-order', input: { order: 'O-1' }, deadlineMs: 3_600_000 },
      preview: 'Ask delivery: check-order',
      target: 'agent/delivery',
    });
    expect(act('flag_client_at_risk', { client: 'contact/C-7', reason: 'Three invoices late' })).toMatchObject({
      actionType: 'agent.publish',
      params: { event: 'client.at_risk', data: { client: 'contact/C-7', reason: 'Three invoices late', contact: null, since: null } },
    });
    expect(act('update_entity', { kind: 'deal', key: 'D-1', event: { type: 'note', text: 'Called' } })).toMatchObject({
      actionType: 'agent.send',
      params: { to: { kind: 'deal', key: 'D-1' }, event: { type: 'note', text: 'Called' } },
      target: 'deal/D-1',
    });
    expect(TOOLS.update_entity!.input.safeParse({ kind: 'agent', key: 'sales', event: { type: 'x' } }).success).toBe(false);
    expect(act('run_research', { query: 'roof coatings suppliers', reason: 'bid B-3 needs prices' })).toMatchObject({
      actionType: 'research.run',
      params: { query: 'roof coatings suppliers', reason: 'bid B-3 needs prices' },
    });
  });

  it('give human tasks the evidence the gate checks', () => {
    const tool = TOOLS.create_human_task!;
    const missing = tool.input.safeParse({ title: 'Call Dana', trigger: 'client_request' });
    expect(missing.success).toBe(false);
    expect(z.prettifyError(missing.error!)).toContain("the client's own words");

    const asked = tool.toAction(tool.input.parse({ title: 'Call Dana', trigger: 'client_request', requestedByClient: 'Can you call me Thursday?', related: 'contact/C-7' }));
    expect(asked).toMatchObject({ actionType: 'task.create', params: { requestedByClient: 'Can you call me Thursday?', evidence: 'Can you call me Thursday?', evidenceFrom: 'client', trigger: 'client_request' } });
    expect(humanTaskAllowed(asked.params)).toBeNull();

    const notAsked = tool.toAction(tool.input.parse({ title: 'Check in', trigger: 'client_request', requestedByClient: 'We are busy this month.' }));
    expect(humanTaskAllowed(notAsked.params)).toMatch(/did not explicitly ask/);

    const deadline = tool.toAction(tool.input.parse({ title: 'File the permit', trigger: 'compliance_deadline', due: '2026-03-10' }));
    expect(humanTaskAllowed(deadline.params)).toBeNull();
  });
});

describe('plannerFromEnv', () => {
  it('chooses Claude when ANTHROPIC_API_KEY is set, the rules otherwise, and names a bad variable', () => {
    const logged: string[] = [];
    const log = { info: (_obj: object, msg: string) => void logged.push(msg) };
    expect(plannerFromEnv({}, log)).toBe(rulesPlanner);
    expect(plannerFromEnv({ ANTHROPIC_API_KEY: 'sk-ant-x', ANTHROPIC_BASE_URL: fake.url }, log).name).toBe('claude');
    expect(logged).toEqual(['planner: rule-based (ANTHROPIC_API_KEY is not set)', 'planner: Claude (claude-sonnet-5-5)']);
    expect(() => plannerFromEnv({ ANTHROPIC_API_KEY: 'k', CADRE_CLAUDE_TIMEOUT_MS: '30s' })).toThrow(AnthropicConfigError);
    expect(() => plannerFromEnv({ ANTHROPIC_API_KEY: 'k', CADRE_CLAUDE_TIMEOUT_MS: '30s' })).toThrow('CADRE_CLAUDE_TIMEOUT_MS must be a whole number');
    expect(() => plannerFromEnv({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'not a url' })).toThrow(/^ANTHROPIC_BASE_URL: /);
    expect(() => plannerFromEnv({ ANTHROPIC_API_KEY: 'k', CADRE_CLAUDE_MAX_ROUNDS: '0' })).toThrow('CADRE_CLAUDE_MAX_ROUNDS must be from 1 to 50');
  });

  it('runs a plan end to end through the environment configuration', async () => {
    fake.enqueue(reply.tools([{ id: 'toolu_1', name: 'notify_team', input: NOTE }]), reply.text('Told the team.'));
    const planner = plannerFromEnv({ ANTHROPIC_API_KEY: fake.apiKey, ANTHROPIC_BASE_URL: fake.url, CADRE_CLAUDE_MODEL: 'claude-env-model', CADRE_CLAUDE_TIMEOUT_MS: '5000' });
    const plan = await planner.plan(context().ctx, work());
    expect(plan.actions.map((a) => a.actionType)).toEqual(['notify.send']);
    expect(plan.findings.model).toBe('claude-env-model');
    expect(fake.requests[0]!.body!.model).toBe('claude-env-model');
  });
});

describe('the fake Messages API', () => {
  it('refuses, as the API does, a tool_use left without its tool_result, and a missing anthropic-version', async () => {
    const headers = { 'content-type': 'application/json', 'x-api-key': fake.apiKey, 'anthropic-version': '2023-06-01' };
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'send_email', input: {} }] },
      { role: 'user', content: 'no result' },
    ];
    const post = (h: Record<string, string>) => fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'm', max_tokens: 10, messages }) });
    const unanswered = await post(headers);
    expect(unanswered.status).toBe(400);
    expect(await unanswered.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('toolu_1') } });
    const { 'anthropic-version': _v, ...unversioned } = headers;
    expect((await post(unversioned)).status).toBe(400);
    expect(fake.requests).toHaveLength(2);
  });
});
