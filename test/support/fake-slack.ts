/**
 * A fake Slack incoming webhook: a real HTTP server on 127.0.0.1 (port 0) that
 * records every post and answers as Slack does (`200 ok`), or as scripted:
 * another status and body (`400 invalid_payload`, `500`), after a delay.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One post the fake received. */
export interface SlackPost {
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON (undefined if it was not JSON). */
  json: any;
  /** The status it was answered with (null: the client went away first). */
  status: number | null;
}

/** How to answer one post. */
export interface SlackAnswer {
  /** @default 200 */
  status?: number;
  /** @default 'ok' (Slack's answer), or Slack's error text for 4xx such as 'invalid_payload' */
  body?: string;
  /** Wait this long before answering. @default 0 */
  delayMs?: number;
}

/** A running fake. */
export interface FakeSlack {
  /** The webhook URL, with a secret-looking path like Slack's. */
  readonly url: string;
  readonly posts: SlackPost[];
  /** Answers the next posts in this order; then `200 ok` again. */
  script(...answers: SlackAnswer[]): void;
  /** Answers every post so from now on (until `script` or `always(null)`). */
  always(answer: SlackAnswer | null): void;
  close(): Promise<void>;
}

/**
 * Starts a fake Slack webhook.
 * @example const slack = await startFakeSlack(); ... slack.posts[0].json.blocks; await slack.close();
 */
export async function startFakeSlack(): Promise<FakeSlack> {
  const posts: SlackPost[] = [];
  let queue: SlackAnswer[] = [];
  let standing: SlackAnswer | null = null;
  const pending = new Set<NodeJS.Timeout>();
  const path = '/services/T0FAKE/B0FAKE/s3cr3tw3bh00kt0k3n';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const post: SlackPost = { path: req.url ?? '', headers: req.headers, json, status: null };
      posts.push(post);
      const a = queue.shift() ?? standing ?? {};
      const status = req.method !== 'POST' || req.url !== path ? 404 : a.status ?? 200;
      const answer = (r: ServerResponse) => {
        if (r.destroyed) return;
        post.status = status;
        r.writeHead(status, { 'content-type': 'text/plain' }).end(status === 404 ? 'no_service' : a.body ?? (status < 300 ? 'ok' : 'error'));
      };
      if (!a.delayMs) return answer(res);
      const t = setTimeout(() => {
        pending.delete(t);
        answer(res);
      }, a.delayMs);
      pending.add(t);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    posts,
    script: (...answers) => void (queue = answers),
    always: (answer) => void (standing = answer),
    async close() {
      for (const t of pending) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
