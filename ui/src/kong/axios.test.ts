import { AxiosError, AxiosHeaders, type AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { kongAxios } from './axios';

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
