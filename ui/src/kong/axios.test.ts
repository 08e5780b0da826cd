import { AxiosError, AxiosHeaders, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { countingKongAxios, kongAxios } from './axios';

/** An adapter answering every request with `status` and `data`, as axios settles it. */
const answering =
  (status: number, data: unknown): AxiosAdapter =>
  async (config) => {
    const response = { data, status, statusText: '', headers: new AxiosHeaders(), config };
    if (status < 400) return response;
    throw new AxiosError(`status ${status}`, AxiosError.ERR_BAD_REQUEST, config, null, response);
  };

const failure = async (status: number, data: unknown): Promise<AxiosError> => {
  try {
    await kongAxios({ adapter: answering(status, data) }).post('/services', {});
  } catch (e) {
    return e as AxiosError;
  }
  throw new Error('no failure');
};

describe('kongAxios', () => {
  it("marks a 403's message as a refusal, as our own forms show it", async () => {
    const e = await failure(403, { message: 'bob, you do not have permissions to create this resource' });
    expect((e.response?.data as { message: string }).message).toBe(
      'Not allowed (403): bob, you do not have permissions to create this resource',
    );
  });

  it('leaves other failures and a 403 without a message as the Admin API sent them', async () => {
    const bad = await failure(400, { message: 'schema violation', fields: { name: 'bad' } });
    expect(bad.response?.data).toEqual({ message: 'schema violation', fields: { name: 'bad' } });
    expect((await failure(403, 'Forbidden')).response?.data).toBe('Forbidden');
  });

  it("keeps Kong's defaults and the caller's options", async () => {
    const instance = kongAxios({ headers: { 'Kong-Admin-Token': 't' } });
    expect(instance.defaults.withCredentials).toBe(true);
    expect(instance.defaults.timeout).toBe(30_000);
    expect(instance.defaults.headers['Kong-Admin-Token']).toBe('t');
    const ok = await kongAxios({ adapter: answering(200, { id: 'x' }) }).get('/services/x');
    expect(ok.data).toEqual({ id: 'x' });
  });
});

describe('countingKongAxios', () => {
  it('counts reads sent and unanswered, answered or failed; writes are not counted', async () => {
    const reads = { pending: 0, sent: 0 };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ok = countingKongAxios(reads, {
      adapter: async (config) => {
        await held;
        return answering(200, {})(config);
      },
    });
    const first = ok.get('/schemas/keys');
    // The request is out (axios runs its interceptors a few microtasks later): counted, unanswered.
    await new Promise((r) => setTimeout(r, 0));
    expect(reads).toEqual({ pending: 1, sent: 1 });
    release();
    await first;
    expect(reads).toEqual({ pending: 0, sent: 1 });
    const failing = countingKongAxios(reads, { adapter: answering(404, { message: 'Not found' }) });
    await expect(failing.get('/key-sets/x')).rejects.toBeInstanceOf(Error);
    expect(reads).toEqual({ pending: 0, sent: 2 });
    await failing.post('/keys', {}).catch(() => undefined);
    expect(reads).toEqual({ pending: 0, sent: 2 });
  });
});
